"""How an order's amount due is collected: one small provider interface used by every app that sells
(session registrations, seat orders, packages). The default provider takes no money online: it
records what is due and tells the buyer how to pay offline; staff mark the order paid later."""
