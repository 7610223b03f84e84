"""Writes of session rosters, one module per part: sessions and spots, discount codes, invitations,
the waitlist, checkout and registrations, and the expiry of holds."""
