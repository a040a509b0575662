// Package indexer follows the chain's committed blocks into PostgreSQL:
// blocks, transactions (decoded from the protobuf Tx envelope), every ABCI
// event, hotspots with their location history, PoC beacons and witnesses
// with their validity and reasons, rewards per epoch, OUIs, DC burns and
// voucher claims. Each batch of blocks is written with COPY in one database
// transaction together with the cursor (last indexed height), so a crash, a
// killed connection or a PostgreSQL restart resumes with no gap and no
// duplicate.
package indexer
