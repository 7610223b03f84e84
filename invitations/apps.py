from django.apps import AppConfig


class InvitationsConfig(AppConfig):
    name = "invitations"
    verbose_name = "Invitation codes"

    def ready(self):
        from bookings import services as booking_services

        from .services import booking_extras, release_for_cancelled_booking

        booking_services.cancellation_handlers.append(release_for_cancelled_booking)
        booking_services.detail_extras.append(booking_extras)
