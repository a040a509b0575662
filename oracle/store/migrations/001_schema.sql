-- Indexed chain history. Every row carries the height it came from; the
-- cursor is written in the same transaction as the rows of its blocks.
CREATE TABLE indexer_cursor (
    id       int PRIMARY KEY CHECK (id = 1),
    height   bigint NOT NULL,
    chain_id text NOT NULL
);

CREATE TABLE blocks (
    height  bigint PRIMARY KEY,
    hash    bytea NOT NULL,
    time    timestamptz NOT NULL,
    num_txs int NOT NULL
);

CREATE TABLE txs (
    height bigint NOT NULL,
    idx    int NOT NULL,
    hash   bytea NOT NULL,
    signer text NOT NULL,
    nonce  bigint NOT NULL,
    fee    bigint NOT NULL,
    kind   text NOT NULL,
    code   int NOT NULL,
    log    text NOT NULL,
    PRIMARY KEY (height, idx)
);
CREATE INDEX txs_hash ON txs (hash);

-- Every ABCI event that no typed table holds in full (poc_beacon, poc_witness
-- and hexproof_tx do: see indexer.mappedEvents), so nothing the chain reports
-- is lost. tx_idx is -1 for block (FinalizeBlock) events.
CREATE TABLE events (
    height bigint NOT NULL,
    tx_idx int NOT NULL,
    idx    int NOT NULL,
    type   text NOT NULL,
    attrs  jsonb NOT NULL,
    PRIMARY KEY (height, tx_idx, idx)
);

CREATE TABLE hotspots (
    address        text PRIMARY KEY,
    owner          text NOT NULL,
    mode           text NOT NULL,
    location       bigint,
    gain_ddbi      int NOT NULL DEFAULT 0,
    elevation_m    int NOT NULL DEFAULT 0,
    region         text NOT NULL DEFAULT '',
    added_height   bigint NOT NULL,
    updated_height bigint NOT NULL
);
CREATE INDEX hotspots_owner ON hotspots (owner);
CREATE INDEX hotspots_location ON hotspots (location) WHERE location IS NOT NULL;

CREATE TABLE hotspot_locations (
    hotspot     text NOT NULL,
    height      bigint NOT NULL,
    tx_idx      int NOT NULL,
    location    bigint NOT NULL,
    gain_ddbi   int NOT NULL,
    elevation_m int NOT NULL,
    region      text NOT NULL,
    PRIMARY KEY (hotspot, height, tx_idx)
);

CREATE TABLE beacons (
    height         bigint NOT NULL,
    tx_idx         int NOT NULL,
    hotspot        text NOT NULL,
    submitter      text NOT NULL,
    entropy_height bigint NOT NULL,
    payload        bytea NOT NULL,
    frequency_hz   bigint NOT NULL,
    datarate       text NOT NULL,
    tx_power_dbm   int NOT NULL,
    transmitted_at timestamptz NOT NULL,
    valid          boolean NOT NULL,
    reason         text NOT NULL,
    witnesses      int NOT NULL,
    PRIMARY KEY (height, tx_idx)
);
CREATE INDEX beacons_hotspot ON beacons (hotspot, height DESC);

CREATE TABLE witnesses (
    height       bigint NOT NULL,
    tx_idx       int NOT NULL,
    idx          int NOT NULL,
    beaconer     text NOT NULL,
    hotspot      text NOT NULL,
    rssi_dbm     int NOT NULL,
    snr_cb       int NOT NULL,
    frequency_hz bigint NOT NULL,
    received_at  timestamptz NOT NULL,
    valid        boolean NOT NULL,
    reason       text NOT NULL,
    -- among the witnesses rewarded for the beacon
    selected     boolean NOT NULL,
    PRIMARY KEY (height, tx_idx, idx)
);
CREATE INDEX witnesses_hotspot ON witnesses (hotspot, height DESC);

-- Epoch summaries and rewards, read from the chain when an epoch ends.
CREATE TABLE epochs (
    epoch        bigint PRIMARY KEY,
    start_height bigint NOT NULL,
    end_height   bigint NOT NULL,
    emission     bigint NOT NULL,
    summary      jsonb NOT NULL
);

-- detail is the chain's full reward answer (breakdown, units, hex scale).
CREATE TABLE hotspot_rewards (
    epoch   bigint NOT NULL,
    hotspot text NOT NULL,
    owner   text NOT NULL,
    total   bigint NOT NULL,
    detail  jsonb NOT NULL,
    PRIMARY KEY (epoch, hotspot)
);
CREATE INDEX hotspot_rewards_hotspot ON hotspot_rewards (hotspot, epoch DESC);

CREATE TABLE account_rewards (
    epoch   bigint NOT NULL,
    account text NOT NULL,
    kind    text NOT NULL,
    amount  bigint NOT NULL,
    PRIMARY KEY (epoch, account, kind)
);

CREATE TABLE ouis (
    oui            bigint PRIMARY KEY,
    owner          text NOT NULL,
    payer          text NOT NULL,
    net_id         bigint NOT NULL,
    config         jsonb NOT NULL,
    dc_escrow      bigint NOT NULL DEFAULT 0,
    created_height bigint NOT NULL,
    updated_height bigint NOT NULL
);

CREATE TABLE dc_burns (
    height  bigint NOT NULL,
    tx_idx  int NOT NULL,
    signer  text NOT NULL,
    amount  bigint NOT NULL,
    dc      bigint NOT NULL,
    account text NOT NULL,
    oui     bigint NOT NULL,
    PRIMARY KEY (height, tx_idx)
);

CREATE TABLE voucher_claims (
    height  bigint NOT NULL,
    tx_idx  int NOT NULL,
    claimer text NOT NULL,
    oui     bigint NOT NULL,
    router  text NOT NULL,
    hotspot text NOT NULL,
    epoch   bigint NOT NULL,
    dc      bigint NOT NULL,
    packets bigint NOT NULL,
    PRIMARY KEY (height, tx_idx)
);
CREATE INDEX voucher_claims_hotspot ON voucher_claims (hotspot, height DESC);

-- PoC ingest queue: reports survive a restart until their receipt is
-- submitted. A beacon is keyed by its payload (unique per beacon); a witness
-- by payload and witness key, so resubmissions are idempotent.
CREATE TABLE ingest_beacons (
    payload        bytea PRIMARY KEY,
    id             text NOT NULL,
    hotspot        bytea NOT NULL,
    entropy_height bigint NOT NULL,
    report         bytea NOT NULL,
    received_at    timestamptz NOT NULL,
    state          text NOT NULL DEFAULT 'pending',
    attempts       int NOT NULL DEFAULT 0,
    tx_hash        text NOT NULL DEFAULT '',
    last_error     text NOT NULL DEFAULT '',
    submitted_at   timestamptz,
    done_at        timestamptz
);
CREATE INDEX ingest_beacons_pending ON ingest_beacons (received_at) WHERE state = 'pending';

CREATE TABLE ingest_witnesses (
    payload     bytea NOT NULL,
    hotspot     bytea NOT NULL,
    id          text NOT NULL,
    report      bytea NOT NULL,
    received_at timestamptz NOT NULL,
    PRIMARY KEY (payload, hotspot)
);

---- create above / drop below ----
DROP TABLE ingest_witnesses, ingest_beacons, voucher_claims, dc_burns, ouis, account_rewards, hotspot_rewards, epochs,
    witnesses, beacons, hotspot_locations, hotspots, events, txs, blocks, indexer_cursor;
