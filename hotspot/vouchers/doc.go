// Package vouchers keeps the routers' signed data-credit vouchers on disk
// (the highest per OUI, router and epoch: they are cumulative) and claims
// them on chain once their epoch ended, or on demand (`hotspot claim`). A
// voucher is deleted only after the chain accepted its claim or reports it
// already paid.
package vouchers
