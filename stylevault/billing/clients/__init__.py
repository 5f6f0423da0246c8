"""The payment providers' wire (HTTP calls and signature checks); nothing here touches the
database: billing.services decide what a payment means, billing.providers read events."""
