package rampart

// LinkChecksumForTest lets the tests build a token whose only fault is one
// the checksum cannot see.
var LinkChecksumForTest = linkChecksum

// PurgeInBatchesForTest lets the tests drive the batch loop with a small
// batch and a purge that counts its calls.
var PurgeInBatchesForTest = purgeInBatches

// LifetimeForTest lets the tests check how mail words a link's TTL.
var LifetimeForTest = lifetime
