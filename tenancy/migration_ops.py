"""Schema operations Django's migrations cannot express: a foreign key over two columns.

``(tenant_id, contract_id) REFERENCES contract (tenant_id, id)`` makes PostgreSQL check, in one
lookup a row, both that the contract exists and that it belongs to the row's tenant — where two
single-column keys cost two lookups a row and still allowed a row of one tenant to point at another
tenant's contract. The model fields keep ``db_constraint=False`` (Django still handles on_delete);
this key is the database's own check. PostgreSQL only: on the embedded SQLite default these columns
have no database key at all, and only the application's own checks apply.
"""

from django.db import migrations


class CompositeForeignKey(migrations.operations.base.Operation):
    reversible = True
    reduces_to_sql = True

    def __init__(self, *, table: str, name: str, columns: tuple[str, ...], to_table: str, to_columns: tuple[str, ...]):
        self.table, self.name, self.columns = table, name, columns
        self.to_table, self.to_columns = to_table, to_columns

    def state_forwards(self, app_label, state):
        pass  # Django's model state has no composite foreign keys; the fields stay as they are

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor != "postgresql":
            return
        quote = schema_editor.quote_name
        schema_editor.execute(
            f"ALTER TABLE {quote(self.table)} ADD CONSTRAINT {quote(self.name)} "
            f"FOREIGN KEY ({', '.join(map(quote, self.columns))}) "
            f"REFERENCES {quote(self.to_table)} ({', '.join(map(quote, self.to_columns))}) "
            "DEFERRABLE INITIALLY DEFERRED"
        )

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor != "postgresql":
            return
        quote = schema_editor.quote_name
        schema_editor.execute(f"ALTER TABLE {quote(self.table)} DROP CONSTRAINT {quote(self.name)}")

    def describe(self):
        return f"Foreign key {self.name} on {self.table} ({', '.join(self.columns)})"

    def deconstruct(self):
        kwargs = {
            "table": self.table,
            "name": self.name,
            "columns": self.columns,
            "to_table": self.to_table,
            "to_columns": self.to_columns,
        }
        return self.__class__.__name__, [], kwargs
