// The outbox's pictures: PNG encoding, training curves, slice montages.
