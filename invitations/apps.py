from django.apps import AppConfig


class InvitationsConfig(AppConfig):
    name = "invitations"
    verbose_name = "Invitation codes"

    def ready(self):
        from bookings import services as booking_services
        from imports import registry as imports_registry
        from messaging import registry

        from .sends_csv import CODE_SENDS_IMPORT
        from .services import booking_extras, release_for_cancelled_booking

        booking_services.cancellation_handlers.append(release_for_cancelled_booking)
        booking_services.detail_extras.append(booking_extras)
        imports_registry.register(CODE_SENDS_IMPORT)
        registry.register(
            registry.EmailKind(
                key="invitations.code_sent",
                label="Invitation codes sent",
                description="Sent when staff send a contract's codes to people from the codes list, by email "
                "(or SMS, with a short fixed text).",
                sample_context={
                    "name": "Ana Lima",
                    "contract": "Acme staff 2027",
                    "count": 2,
                    "codes": [
                        {
                            "code": "ACME-7KD9Q-2MX4P",
                            "service": "Health check",
                            "price": "0.00 EUR",
                            "valid_until": "31 Dec 2027 23:59",
                            "link": "https://example.com/t/demo/book/?code=ACME-7KD9Q-2MX4P",
                        },
                        {
                            "code": "ACME-H3RT6-W8NC2",
                            "service": "Health check",
                            "price": "0.00 EUR",
                            "valid_until": "",
                            "link": "https://example.com/t/demo/book/?code=ACME-H3RT6-W8NC2",
                        },
                    ],
                    "codes_text": "ACME-7KD9Q-2MX4P, ACME-H3RT6-W8NC2",
                    "book_url": "https://example.com/t/demo/book/",
                },
                sms=True,
            )
        )
