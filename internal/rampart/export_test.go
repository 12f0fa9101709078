package rampart

// LinkChecksumForTest lets the tests build a token whose only fault is one
// the checksum cannot see.
var LinkChecksumForTest = linkChecksum
