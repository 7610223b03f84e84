"""Dashboard pages at scale: a tenant holding 1,000,000 invitation codes and 100,000 participants
(10 other tenants alongside, 100,000 codes each) against the same pages on an empty tenant.

The pages: a contract's codes list (first page, a later page, a status filter), code search (a whole
code, the start of one), the contract's participants (first page, a later page, a name search), a
session's roster, and My Account with the Registration Codes tile (and a seat order's details).
Each is requested in-process through ``django.test.Client``; the figure is the per-request latency
(p50 / p95 / max of 50 requests after a warm-up) and the number of SQL queries one request makes.
Each response is checked for what it must show (the searched code, the row at that depth, the
counts as labelled). The later pages are those "Next" leads to after the 250,000th code and the
50,000th participant (links carry the sort key of the row before). The data is built once by
set-based SQL (``prepare``, about a minute) and kept between runs.
"""

import statistics
import time
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.db import connection, transaction
from django.test import Client as HttpClient
from django.test.utils import CaptureQueriesContext, override_settings
from django.utils import timezone

from accounts.models import User
from bookings.models import Service
from contracts.models import Contract, ContractPrice, Organisation
from contracts.selectors import PARTICIPANT_ORDER
from invitations import codes as code_text
from regcodes.models import Product, ProductSession, SeatOrder
from sessions_roster.models import Session
from tenancy.models import Membership, Role, Tenant
from tenancy.pagination import encode_key, row_key
from tenancy.scoping import isolated_scope, scopes_disabled

from .common import STATIC_ROOT, collect_static, peak_rss_mb
from .registry import Scenario, Verdict, register

BIG, EMPTY = "bench-pages", "bench-pages-empty"
OTHERS = [f"bench-pages-other-{n:02d}" for n in range(1, 11)]
MAIN_CODES = 500_000  # in the contract whose list is measured
OTHER_CONTRACT_CODES = 125_000  # in each of 4 more contracts of the big tenant: 1,000,000 in all
PARTICIPANTS = 100_000  # in the main contract; each has a code
OTHER_TENANT_CODES, OTHER_TENANT_PARTICIPANTS = 100_000, 10_000
ROSTER_HOLDING, ROSTER_CANCELLED, ROSTER_PENDING, ROSTER_CLOSED, ROSTER_WAITING = 1_500, 400, 100, 150, 200
OTHER_SESSIONS, OTHER_SESSION_SEATS = 50, 1_000
OTHER_BUYERS, ORDERS_PER_BUYER, SEATS_PER_ORDER = 2_000, 10, 10  # 200,000 registration codes of others
CUSTOMER_ORDERS = (50, 20, 10, 5, 3)
CODES_DEPTH, PEOPLE_DEPTH = 250_000, 50_000  # where the "later page" of each list starts
WARM_UP, REQUESTS = 5, 50
TARGET_MS = 100

FIRST_NAMES = (
    "Anna Bas Carla Daan Eva Finn Greta Hugo Iris Jan Kim Lars Mila Noah Olga Pim Quinn Rosa Sem Tess Umar Vera "
    "Wout Xena Yara Zoe Ahmed Bram Chloe Dirk Emma Fleur Gijs Hanna Ilse Joost Koen Lotte Maud Nina"
).split()
LAST_NAMES = (
    "Jansen de_Vries van_den_Berg Bakker Visser Smit Meijer de_Boer Mulder de_Groot Bos Vos Peters Hendriks "
    "van_Leeuwen Dekker Brouwer de_Wit Dijkstra Smits de_Graaf van_der_Meer van_der_Linden Kok Jacobs de_Haan "
    "Vermeulen van_den_Heuvel van_der_Veen van_den_Broek de_Bruijn de_Jong van_Dijk Schouten Hoekstra Koster "
    "Prins Huisman Kuipers Willems Maas Verhoeven Timmermans Groen Sanders Postma Gerritsen Verbeek Bosman "
    "Evers Kramer Lambers Brink Hermans Wouters Vink Bosch Martens Hoek Nijhuis Jonker Pieters Kuiper Scholten"
).split()


def _names_sql(names) -> str:
    return "ARRAY[" + ", ".join("'" + name.replace("_", " ") + "'" for name in names) + "]"


# Preparing the data ------------------------------------------------------------------------------


def _tenant_objects(slug: str) -> dict:
    """The few rows every measured tenant has, made through the ORM: staff, a customer, a contract
    with two prices, a session, a course run."""
    tenant = Tenant.objects.create(slug=slug, name=slug.replace("-", " ").title(), time_zone="Europe/Amsterdam")
    with isolated_scope(tenant=tenant):
        owner = User.objects.create_user(email=f"owner@{slug}.example", first_name="Olga", last_name="Owner")
        Membership.objects.create(tenant=tenant, user=owner, role=Role.OWNER)
        customer = User.objects.create_user(email=f"customer@{slug}.example", first_name="Cas", last_name="Customer")
        service = Service.objects.create(tenant=tenant, name="Coaching", price=Decimal("40"))
        org = Organisation.objects.create(tenant=tenant, name="Bench Org")
        contracts = [
            Contract.objects.create(
                tenant=tenant, organisation=org, name=name, invitation_prefix=prefix, starts_on="2025-01-01"
            )
            for name, prefix in (("Main contract", "BPM"), *((f"Contract {n}", f"BP{n}") for n in range(2, 6)))
        ]
        prices = {
            contract.pk: [
                ContractPrice.objects.create(
                    tenant=tenant, contract=contract, service=service, amount=Decimal(amount), price_code=code
                )
                for code, amount in (("STD", "25"), ("VIP", "60"))
            ]
            for contract in contracts
        }
        starts = timezone.now().replace(microsecond=0) + timedelta(days=14)
        session = Session.objects.create(
            tenant=tenant, key=f"{slug[-8:]}-r", title="Roster workshop", starts_at=starts,
            ends_at=starts + timedelta(hours=3), capacity=ROSTER_HOLDING + ROSTER_PENDING, price=Decimal("30"),
        )  # fmt: skip
        product = Product.objects.create(tenant=tenant, name="Bench course")
        today = timezone.localdate()
        run = ProductSession.objects.create(
            tenant=tenant, product=product, name="Spring run", starts_on=today + timedelta(days=30),
            ends_on=today + timedelta(days=32), price=Decimal("100"), generates_codes=True,
        )  # fmt: skip
    return {
        "tenant": tenant, "owner": owner, "customer": customer, "contracts": contracts, "prices": prices,
        "session": session, "run": run,
    }  # fmt: skip


def _participants(cursor, tenant, contract, count: int) -> None:
    cursor.execute(
        f"""
        INSERT INTO contracts_participant (tenant_id, contract_id, first_name, last_name, email, phone,
            date_of_birth, created_at, updated_at)
        SELECT %s, %s, ({_names_sql(FIRST_NAMES)})[1 + n %% {len(FIRST_NAMES)}],
            ({_names_sql(LAST_NAMES)})[1 + (n * 7919) %% {len(LAST_NAMES)}],
            'person' || n || '@c' || %s || '.example', '+31 6 ' || (10000000 + n),
            date '1960-01-01' + (n * 37) %% 15000, now() - interval '1 minute' * n, now()
        FROM generate_series(1, %s) AS n
        """,
        [tenant.pk, contract.pk, contract.pk, count],
    )


def _codes(cursor, tenant, contract, prices, count: int, *, salt: int) -> None:
    """``count`` codes; the first ones go to the contract's participants (one each), the rest are
    unassigned. A status mix by ``n % 20``: 70 % active (some multi-use, partly used), 15 % used up,
    5 % void, 5 % expired, 5 % not yet valid. Code texts are the prefix and ``n`` through a bijection
    of 40 bits, so they are unique without retries."""
    std, vip = (price.pk for price in prices)
    cursor.execute(
        """
        WITH people AS (
            SELECT id, row_number() OVER (ORDER BY id) AS n FROM contracts_participant WHERE contract_id = %s
        )
        INSERT INTO invitations_invitationcode (tenant_id, contract_id, price_id, participant_id, code, max_uses,
            uses, status, valid_from, valid_until, restricted_domain, shown_at, created_at)
        SELECT %s, %s, CASE WHEN n %% 7 = 0 THEN %s ELSE %s END, people.id,
            %s || lpad(upper(to_hex((n * 658192183 + %s) %% 1099511627776)), 10, '0'),
            CASE WHEN n %% 10 = 0 THEN 5 ELSE 1 END,
            CASE WHEN n %% 20 IN (14, 15, 16) THEN CASE WHEN n %% 10 = 0 THEN 5 ELSE 1 END
                 WHEN n %% 10 = 0 THEN n %% 5 ELSE 0 END,
            CASE WHEN n %% 20 IN (14, 15, 16) THEN 'used_up' WHEN n %% 20 = 17 THEN 'void' ELSE 'active' END,
            CASE WHEN n %% 20 = 19 THEN now() + interval '30 days' END,
            CASE WHEN n %% 20 = 18 THEN now() - interval '10 days'
                 WHEN n %% 20 = 19 THEN now() + interval '90 days' END,
            '', CASE WHEN n %% 3 = 0 THEN now() - interval '1 second' * (%s - n) * 20 END,
            now() - interval '1 second' * (%s - n) * 20
        FROM generate_series(1, %s) AS n LEFT JOIN people USING (n)
        """,
        [contract.pk, tenant.pk, contract.pk, vip, std, contract.invitation_prefix, salt, count, count, count],
    )


def _roster(cursor, objects) -> None:
    """The measured session: confirmed and unpaid registrations, cancelled ones, pending and closed
    invitations and a waitlist; the spot counter matches what holds a spot (the session is full)."""
    tenant, session, customer = objects["tenant"], objects["session"], objects["customer"]
    cursor.execute(
        """
        INSERT INTO sessions_roster_order (tenant_id, reference, first_name, last_name, email, subtotal,
            discount_amount, total, status, payment_provider, payment_instructions, created_at, paid_at)
        SELECT %s, 'bp-' || %s || '-' || n, 'Reg', 'Istrant' || n, 'reg' || n || '@people.example', 30, 0, 30,
            CASE WHEN n <= 1200 THEN 'paid' WHEN n <= %s THEN 'awaiting_payment' ELSE 'cancelled' END,
            'offline', '', now() - interval '1 minute' * (3000 - n), CASE WHEN n <= 1200 THEN now() END
        FROM generate_series(1, %s) AS n
        """,
        [tenant.pk, session.pk, ROSTER_HOLDING, ROSTER_HOLDING + ROSTER_CANCELLED],
    )
    cursor.execute(
        """
        INSERT INTO sessions_roster_registration (tenant_id, order_id, session_id, first_name, last_name, email,
            price, discount, amount, status, created_at, cancelled_at)
        SELECT o.tenant_id, o.id, %s, o.first_name, o.last_name, o.email, 30, 0, 30,
            CASE o.status WHEN 'paid' THEN 'confirmed' ELSE o.status END, o.created_at,
            CASE WHEN o.status = 'cancelled' THEN o.created_at + interval '1 hour' END
        FROM sessions_roster_order o WHERE o.reference LIKE %s
        """,
        [session.pk, f"bp-{session.pk}-%"],
    )
    cursor.execute(
        """
        INSERT INTO sessions_roster_sessioninvitation (tenant_id, session_id, email, lock_to_email, expires_at,
            status, token_salt, token_hash, raised_capacity, times_sent, sent_at, created_at, closed_at,
            proof_hash, proof_attempts, proof_codes_sent)
        SELECT %s, %s, 'invited' || n || '@people.example', n %% 2 = 0, now() + interval '10 days',
            CASE WHEN n <= %s THEN 'pending' WHEN n %% 2 = 0 THEN 'cancelled' ELSE 'expired' END,
            md5('salt' || %s || n), md5('a' || %s || n) || md5('b' || %s || n), false, 1,
            now() - interval '1 hour' * n, now() - interval '1 hour' * n,
            CASE WHEN n > %s THEN now() - interval '1 minute' * n END, '', 0, 0
        FROM generate_series(1, %s) AS n
        """,
        [tenant.pk, session.pk, ROSTER_PENDING, session.pk, session.pk, session.pk, ROSTER_PENDING,
         ROSTER_PENDING + ROSTER_CLOSED],
    )  # fmt: skip
    cursor.execute(
        """
        INSERT INTO sessions_roster_waitlistentry (tenant_id, session_id, first_name, last_name, email, status,
            offer_salt, created_at)
        SELECT %s, %s, 'Wait', 'Ing' || n, 'waiting' || n || '@people.example', 'waiting', '',
            now() - interval '1 minute' * (1000 - n)
        FROM generate_series(1, %s) AS n
        """,
        [tenant.pk, session.pk, ROSTER_WAITING],
    )
    Session.objects.filter(pk=session.pk).update(spots_taken=ROSTER_HOLDING + ROSTER_PENDING)
    # The customer is on the roster too (the My Account sessions tile lists it).
    cursor.execute(
        "UPDATE sessions_roster_registration SET email = %s WHERE session_id = %s AND last_name = 'Istrant1'",
        [customer.email, session.pk],
    )


def _other_sessions(cursor, tenant) -> None:
    """More full sessions in the tenant, so the registrations table is not just the measured roster."""
    starts = timezone.now() + timedelta(days=3)
    ids = [
        Session.objects.create(
            tenant=tenant, key=f"bpo{tenant.pk}-{n}", title=f"Other session {n}", starts_at=starts + timedelta(days=n),
            ends_at=starts + timedelta(days=n, hours=2), capacity=OTHER_SESSION_SEATS,
            spots_taken=OTHER_SESSION_SEATS,
        ).pk
        for n in range(OTHER_SESSIONS)
    ]  # fmt: skip
    cursor.execute(
        """
        WITH made AS (
            INSERT INTO sessions_roster_order (tenant_id, reference, first_name, last_name, email, subtotal,
                discount_amount, total, status, payment_provider, payment_instructions, created_at, paid_at)
            SELECT %s, 'bpo-' || s || '-' || n, 'Other', 'Person' || n, 'other' || n || '@people.example',
                20, 0, 20, 'paid', 'offline', '', now() - interval '1 minute' * n, now()
            FROM unnest(%s::bigint[]) AS s, generate_series(1, %s) AS n
            RETURNING id, reference, first_name, last_name, email, created_at
        )
        INSERT INTO sessions_roster_registration (tenant_id, order_id, session_id, first_name, last_name, email,
            price, discount, amount, status, created_at)
        SELECT %s, id, split_part(reference, '-', 2)::bigint, first_name, last_name, email, 20, 0, 20, 'confirmed',
            created_at
        FROM made
        """,
        [tenant.pk, ids, OTHER_SESSION_SEATS, tenant.pk],
    )


def _customer_orders(objects, quantities) -> None:
    """The customer's seat orders, made through the services as in real use; the first one has
    pending invites and learners holding seats."""
    from regcodes.services import NewLearner, invites_send, learners_assign, seat_order_create

    tenant, customer, run = objects["tenant"], objects["customer"], objects["run"]
    with isolated_scope(tenant=tenant):
        orders = [
            seat_order_create(tenant=tenant, product_session=run, buyer=customer, quantity=quantity)
            for quantity in quantities
        ]
        if quantities[0] >= 30:
            slug = tenant.slug
            invites_send(
                tenant=tenant, order=orders[0], emails=[f"invitee{n}@{slug}.example" for n in range(10)],
                message="", actor=customer,
            )  # fmt: skip
            learners = [NewLearner(f"learner{n}@{slug}.example", "Lea", f"Rner{n}", "") for n in range(15)]
            learners_assign(tenant=tenant, order=orders[0], learners=learners, actor=customer)


def _other_seat_orders(cursor, objects) -> None:
    """Other customers' orders in the tenant (10 seats each), so the tile's query meets a big table."""
    tenant, run = objects["tenant"], objects["run"]
    cursor.execute(
        """
        INSERT INTO accounts_user (password, is_superuser, email, first_name, last_name, is_active, is_staff,
            date_joined, email_verified)
        SELECT '!', false, 'buyer' || n || '@' || %s || '.example', 'Buy', 'Er' || n, true, false, now(), false
        FROM generate_series(1, %s) AS n
        """,
        [tenant.slug, OTHER_BUYERS],
    )
    cursor.execute(
        """
        WITH made AS (
            INSERT INTO regcodes_seatorder (tenant_id, reference, product_session_id, buyer_id, quantity,
                unit_price, total, status, payment_provider, payment_instructions, created_at, paid_at)
            SELECT %s, 'bps-' || u.id || '-' || k, %s, u.id, %s, 100, 100 * %s, 'paid', 'offline', '',
                now() - interval '1 hour' * k, now()
            FROM accounts_user u, generate_series(1, %s) AS k
            WHERE u.email LIKE %s
            RETURNING id
        )
        INSERT INTO regcodes_registrationcode (tenant_id, order_id, code, status, created_at)
        SELECT %s, made.id, 'U' || lpad((made.id * 100 + s)::text, 12, '0'),
            CASE WHEN s <= 3 THEN 'invited' ELSE 'available' END, now()
        FROM made, generate_series(1, %s) AS s
        """,
        [tenant.pk, run.pk, SEATS_PER_ORDER, SEATS_PER_ORDER, ORDERS_PER_BUYER, f"buyer%@{tenant.slug}.example",
         tenant.pk, SEATS_PER_ORDER],
    )  # fmt: skip


def prepare() -> dict:
    """Build the tenants once (one transaction: all or nothing); later runs find them there."""
    collect_static()
    if Tenant.objects.filter(slug=EMPTY).exists():
        return {"value": 0, "peak_mb": peak_rss_mb(), "ok": True}
    started = time.perf_counter()
    with scopes_disabled(), transaction.atomic(), connection.cursor() as cursor:  # it builds several tenants
        big = _tenant_objects(BIG)
        tenant = big["tenant"]
        main, *others = big["contracts"]
        _participants(cursor, tenant, main, PARTICIPANTS)
        _codes(cursor, tenant, main, big["prices"][main.pk], MAIN_CODES, salt=1)
        for n, contract in enumerate(others, start=2):
            _codes(cursor, tenant, contract, big["prices"][contract.pk], OTHER_CONTRACT_CODES, salt=n)
        _roster(cursor, big)
        _other_sessions(cursor, tenant)
        _customer_orders(big, CUSTOMER_ORDERS)
        _other_seat_orders(cursor, big)
        for slug in OTHERS:
            other = _tenant_objects(slug)
            contract = other["contracts"][0]
            _participants(cursor, other["tenant"], contract, OTHER_TENANT_PARTICIPANTS)
            _codes(cursor, other["tenant"], contract, other["prices"][contract.pk], OTHER_TENANT_CODES, salt=7)
        empty = _tenant_objects(EMPTY)
        _customer_orders(empty, (2,))
    with connection.cursor() as cursor:
        for table in (
            "invitations_invitationcode", "contracts_participant", "sessions_roster_order",
            "sessions_roster_registration", "sessions_roster_sessioninvitation", "sessions_roster_waitlistentry",
            "regcodes_seatorder", "regcodes_registrationcode", "accounts_user",
        ):  # fmt: skip
            cursor.execute(f"VACUUM ANALYZE {table}")
    return {"value": time.perf_counter() - started, "peak_mb": peak_rss_mb(), "ok": True}


# Measuring ---------------------------------------------------------------------------------------


@dataclass
class Page:
    name: str
    url: str
    shows: list[str]  # texts the response must contain (the right rows, the right counts)
    user: str = "owner"  # or "customer"


def _shown(code: str, prefix: str) -> str:
    return code_text.display(code, prefix)


def _pages(slug: str) -> list[Page]:
    """The measured pages of a tenant, with what each must show (looked up here, not timed)."""
    with scopes_disabled():
        tenant = Tenant.objects.get(slug=slug)
        main = Contract.objects.get(tenant=tenant, name="Main contract")
        session = Session.objects.get(tenant=tenant, title="Roster workshop")
        order = SeatOrder.objects.filter(tenant=tenant, buyer__email=f"customer@{slug}.example").order_by("id").first()
        codes = main.codes.order_by("-id")
        newest = codes.first()
        # A later page: the one after the 250,000th code (the 50,000th participant), as "Next" leads there.
        after_code, deep = list(codes[CODES_DEPTH - 1 : CODES_DEPTH + 1]) or (None, None)
        void = codes.filter(status="void").first()
        target = main.codes.filter(participant__isnull=False).order_by("id")[4_242:4_243].first()
        people = main.participants.order_by(*PARTICIPANT_ORDER)
        first_person = people.first()
        after_person, deep_person = list(people[PEOPLE_DEPTH - 1 : PEOPLE_DEPTH + 1]) or (None, None)
        registered = session.registrations.exclude(status="cancelled").order_by("created_at", "id").first()
    base = f"/t/{slug}"
    codes_url, people_url = f"{base}/contracts/{main.pk}/codes/", f"{base}/contracts/{main.pk}/participants/"
    prefix = main.invitation_prefix
    codes_later = f"{codes_url}?after={row_key(after_code, ('-id',)) if after_code else encode_key([1])}"
    people_later = f"{people_url}?after=" + (
        row_key(after_person, PARTICIPANT_ORDER) if after_person else encode_key(["Jansen", "Anna", 1])
    )
    if newest is None:  # the empty tenant: the same pages, each showing it has nothing
        target_text, partial = f"{prefix}-00000-00000", f"{prefix}-0000"
        return [
            Page("codes_first", codes_url, ["No codes yet"]),
            Page("codes_later", codes_later, ["No codes yet"]),
            Page("codes_status", f"{codes_url}?status=void", ["No codes match these filters"]),
            Page("code_search_full", f"{codes_url}?q={target_text}", ["No codes match these filters"]),
            Page("code_search_partial", f"{codes_url}?q={partial}", ["No codes match these filters"]),
            Page("participants_first", people_url, ["No participants yet"]),
            Page("participants_later", people_later, ["No participants yet"]),
            Page("participants_search", f"{people_url}?q=Vermeulen", ["No participants match your search"]),
            Page("roster", f"{base}/sessions/{session.pk}/", ["Nobody registered yet", "No pending invitations"]),
            Page("my_account", f"{base}/account/", ["Registration Codes", f"Order R-{order.pk:06d}"], "customer"),
            Page("seat_order", f"{base}/account/seats/{order.pk}/", [f"R-{order.pk:06d}"], "customer"),
        ]
    target_text = _shown(target.code, prefix)
    partial = target_text[: len(prefix) + 5]
    return [
        Page("codes_first", codes_url, [_shown(newest.code, prefix), "more than 10,000 in all", ">10,000+</span>"]),
        Page("codes_later", codes_later, [_shown(deep.code, prefix), "Previous"]),
        Page("codes_status", f"{codes_url}?status=void", [_shown(void.code, prefix)]),
        Page("code_search_full", f"{codes_url}?q={target_text}", [target_text, target.participant.last_name]),
        Page("code_search_partial", f"{codes_url}?q={partial}", [target_text]),
        Page("participants_first", people_url, [f"id {first_person.pk}<", "more than 10,000 in all"]),
        Page("participants_later", people_later, [f"id {deep_person.pk}<", "Previous"]),
        Page("participants_search", f"{people_url}?q=Vermeulen", ["Vermeulen, "]),
        Page(
            "roster",
            f"{base}/sessions/{session.pk}/",
            [registered.email, f"Registered ({ROSTER_HOLDING:,})", f"· {ROSTER_HOLDING:,} in all"],
        ),
        Page("my_account", f"{base}/account/", ["Registration Codes", f"Order R-{order.pk:06d}"], "customer"),
        Page("seat_order", f"{base}/account/seats/{order.pk}/", [f"R-{order.pk:06d}", "Rner3"], "customer"),
    ]


def _clients(slug: str) -> dict[str, HttpClient]:
    clients = {}
    for role in ("owner", "customer"):
        client = HttpClient()
        client.force_login(User.objects.get(email=f"{role}@{slug}.example"))
        clients[role] = client
    return clients


def _request(client: HttpClient, page: Page) -> tuple[bool, str]:
    response = client.get(page.url)
    body = response.content.decode()
    missing = [text for text in page.shows if text not in body]
    return response.status_code == 200 and not missing, f"{response.status_code} missing {missing}"[:300]


def _queries(slug: str) -> dict[str, int]:
    """How many SQL queries one request of each page makes (counted apart from the timed requests)."""
    clients, counts = _clients(slug), {}
    for page in _pages(slug):
        _request(clients[page.user], page)  # the first request of a process sets up the session
        with CaptureQueriesContext(connection) as captured:
            _request(clients[page.user], page)
        counts[page.name] = len(captured.captured_queries)
    return counts


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def _measure(slug: str) -> tuple[dict, bool, list[str]]:
    clients, figures, ok, problems = _clients(slug), {}, True, []
    for page in _pages(slug):
        client = clients[page.user]
        for _ in range(WARM_UP):
            right, why = _request(client, page)
        if not right:
            ok = False
            problems.append(f"{page.name}: {why}")
        times = []
        for _ in range(REQUESTS):
            started = time.perf_counter()
            client.get(page.url)
            times.append((time.perf_counter() - started) * 1000)
        figures[f"p50_{page.name}"] = statistics.median(times)
        figures[f"p95_{page.name}"] = _percentile(times, 0.95)
        figures[f"max_{page.name}"] = max(times)
    return figures, ok, problems


def _run(slug: str, other: str) -> dict:
    with override_settings(STATIC_ROOT=STATIC_ROOT):
        figures, ok, problems = _measure(slug)
        queries, reference_queries = _queries(slug), _queries(other)
    for name, count in queries.items():
        figures[f"q_{name}"] = count
        if count != reference_queries[name]:
            problems.append(f"{name}: {count} queries here, {reference_queries[name]} on {other}")
    same = all(queries[name] == reference_queries[name] for name in queries)
    worst = max((key for key in figures if key.startswith("p95_")), key=figures.get)
    return {
        "problems": problems,
        "value": figures[worst],
        "peak_mb": peak_rss_mb(),
        "ok": ok and same,
        "queries_equal": int(same),
        **figures,
    }


def pages_big_tenant() -> dict:
    return _run(BIG, EMPTY)


def pages_empty_tenant() -> dict:
    return _run(EMPTY, BIG)


def _worst(figures) -> str:
    return max((key for key in figures if key.startswith("p95_")), key=figures.get).removeprefix("p95_")


def _details(figures) -> str:
    worst = _worst(figures)
    queries = ", ".join(f"{key[2:]} {figures[key]:.0f}" for key in sorted(figures) if key.startswith("q_"))
    return (
        f"worst: {worst} p95 {figures['p95_' + worst]:.0f} ms (p50 {figures['p50_' + worst]:.0f}); queries: {queries}"
    )


def _judge(figures, reference) -> Verdict:
    pages_fast = all(value <= TARGET_MS for key, value in figures.items() if key.startswith("p95_"))
    return Verdict(
        f"every page p95 ≤ {TARGET_MS} ms; query counts as on the empty tenant",
        pages_fast and figures.get("queries_equal") == 1,
    )


register(
    Scenario(
        name="pages_big_tenant",
        label="dashboard pages, 1,000,000 codes and 100,000 participants in the tenant (10 tenants alongside): "
        "worst page's p95",
        run="bench.pages:pages_big_tenant",
        unit="ms",
        reference="pages_empty_tenant",
        prepare="bench.pages:prepare",
        judge=_judge,
        details=_details,
    ),
    Scenario(
        name="pages_empty_tenant",
        label="reference: the same pages on an empty tenant",
        run="bench.pages:pages_empty_tenant",
        unit="ms",
        prepare="bench.pages:prepare",
        details=_details,
    ),
)
