//go:build race

package signals

// raceEnabled: the race detector is on (go test -race), which multiplies
// the time and memory of the million-source test.
const raceEnabled = true
