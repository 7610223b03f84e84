from django.urls import path

from . import public

app_name = "register"

urlpatterns = [
    path("", public.listing, name="listing"),
    path("s/<str:session_key>/", public.session_page, name="session"),
    path("s/<str:session_key>/add/", public.add_to_cart, name="add"),
    path("s/<str:session_key>/waitlist/", public.waitlist_join, name="waitlist"),
    path("cart/", public.cart_page, name="cart"),
    path("checkout/", public.checkout, name="checkout"),
    path("orders/<str:order_reference>/", public.order_page, name="order"),
    path("invitation/<str:invite_token>/", public.invitation_link, name="invitation"),
    path("invitation/<str:invite_token>/verify/", public.invitation_verify, name="invitation_verify"),
    path("offer/<str:offer_token>/", public.offer_link, name="offer"),
]
