"""The equipment store: catalogue, stock, orders, purchase links, receipts, returns."""
