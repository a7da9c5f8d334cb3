package faults

import (
	"strings"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
)

// The checkers must be able to fail: each is fed hand-made histories with a known
// violation (and a correct one, so that it does not fail everything).

const ms = int64(time.Millisecond)

func op(client int, o, key, value string, expected, version, call, ret int64, outcome string) Record {
	return Record{Kind: "op", Worker: "w", Client: client, Op: o, Key: key, Value: value,
		Expected: expected, Version: version, Call: call * ms, Return: ret * ms, Outcome: outcome}
}

func TestCheckRegistersAcceptsLinearizable(t *testing.T) {
	k := "/faults/reg0"
	h := []Record{
		op(1, "set", k, "a", 0, 2, 0, 10, outcomeOK),
		op(2, "get", k, "init", 0, 1, 1, 3, outcomeOK), // concurrent with the set: may see the old value
		op(2, "get", k, "a", 0, 2, 11, 12, outcomeOK),
		op(3, "cas", k, "b", 2, 3, 13, 20, outcomeOK),
		op(1, "cas", k, "c", 2, 0, 14, 21, outcomeFail),    // lost to the cas above
		op(4, "set", k, "d", 0, 0, 22, 23, outcomeUnknown), // may have happened...
		op(5, "get", k, "b", 0, 3, 30, 31, outcomeOK),      // ...not yet
		op(5, "get", k, "d", 0, 4, 40, 41, outcomeOK),      // ...now it has
		op(6, "get", "/faults/reg1", "init", 0, 1, 0, 1, outcomeOK),
	}
	rep := checkRegisters(h, 10*time.Second)
	if rep.Result != porcupine.Ok {
		t.Fatalf("a linearizable history reported as %v:\n%s", rep.Result, rep)
	}
}

func TestCheckRegistersCatchesStaleRead(t *testing.T) {
	k := "/faults/reg1"
	h := []Record{
		op(1, "set", k, "a", 0, 2, 0, 10, outcomeOK),
		op(2, "get", k, "init", 0, 1, 20, 21, outcomeOK), // after the set completed: stale
		op(3, "get", "/faults/reg0", "init", 0, 1, 0, 1, outcomeOK),
	}
	rep := checkRegisters(h, 10*time.Second)
	if rep.Result != porcupine.Illegal {
		t.Fatalf("a stale read reported as %v", rep.Result)
	}
	if len(rep.BadKeys) != 1 || rep.BadKeys[0] != k {
		t.Fatalf("bad keys %v, want [%s]", rep.BadKeys, k)
	}
	if !strings.Contains(rep.Excerpt, `get /faults/reg1 -> "init" v1`) {
		t.Fatalf("the excerpt does not show the stale read:\n%s", rep.Excerpt)
	}
	t.Logf("the report:\n%s", rep)
}

func TestCheckRegistersCatchesLostWrite(t *testing.T) {
	k := "/faults/reg2"
	h := []Record{
		op(1, "cas", k, "a", 1, 2, 0, 10, outcomeOK),
		op(2, "set", k, "b", 0, 3, 11, 12, outcomeOK),
		op(3, "get", k, "a", 0, 2, 13, 14, outcomeOK), // b was acknowledged, then gone
	}
	if rep := checkRegisters(h, 10*time.Second); rep.Result != porcupine.Illegal {
		t.Fatalf("a lost write reported as %v", rep.Result)
	}
	// Two acknowledged cas'es at the same expected version.
	h = []Record{
		op(1, "cas", k, "a", 1, 2, 0, 10, outcomeOK),
		op(2, "cas", k, "b", 1, 2, 0, 10, outcomeOK),
	}
	if rep := checkRegisters(h, 10*time.Second); rep.Result != porcupine.Illegal {
		t.Fatalf("two winning cas'es reported as %v", rep.Result)
	}
}

func counterRec(client int, value string, version int64, outcome string) Record {
	return Record{Kind: "counter", Worker: "w", Client: client, Value: value, Version: version, Outcome: outcome}
}

func TestCheckCounter(t *testing.T) {
	good := []Record{
		counterRec(1, "1", 2, outcomeOK),
		counterRec(2, "2", 3, outcomeOK),
		counterRec(1, "2", 0, outcomeFail),
		counterRec(3, "3", 0, outcomeUnknown),
	}
	for _, final := range []int64{2, 3} { // the unknown one applied or not
		if rep := checkCounter(good, final, final+1); len(rep.Violations) > 0 {
			t.Fatalf("a correct counter (final %d) reported: %s", final, rep)
		}
	}
	// An acknowledged increment lost.
	if rep := checkCounter(good, 1, 2); len(rep.Violations) == 0 || !strings.Contains(rep.String(), "lost") {
		t.Fatalf("a lost increment not reported: %s", rep)
	}
	// More than acked + unknown.
	if rep := checkCounter(good, 4, 5); len(rep.Violations) == 0 {
		t.Fatalf("an increment from nowhere not reported: %s", rep)
	}
	// One version acknowledged to two clients.
	dup := append(good[:2:2], counterRec(3, "2", 3, outcomeOK))
	if rep := checkCounter(dup, 3, 4); len(rep.Violations) == 0 || !strings.Contains(rep.String(), "twice") {
		t.Fatalf("a version acknowledged twice not reported: %s", rep)
	}
}

func ev(kind string, t int64) Record { return Record{Kind: kind, T: t * ms} }

func sess(state string, t int64, leader bool) Record {
	return Record{Kind: "session", State: state, T: t * ms, Leader: leader}
}

func TestCheckElection(t *testing.T) {
	good := map[string][]Record{
		"a": {ev("lead", 0), sess("SUSPENDED", 100, false), ev("unlead", 101), sess("CONNECTED", 200, false)},
		"b": {ev("lead", 300), ev("unlead", 500)},
		"c": {ev("lead", 600)}, // killed at 700
		"d": {ev("lead", 8000)},
	}
	rep := checkElection(good, map[string]int64{"c": 700 * ms}, 9000*ms)
	if len(rep.Violations) > 0 || len(rep.Intervals) != 4 || rep.Suspensions != 1 {
		t.Fatalf("a correct election reported: %s", rep)
	}
	if rep.MinGap != 100*time.Millisecond {
		t.Fatalf("shortest hand-over %v, want 100ms", rep.MinGap)
	}

	// Two leaders at once.
	double := map[string][]Record{
		"a": {ev("lead", 0), ev("unlead", 500)},
		"b": {ev("lead", 400), ev("unlead", 600)},
	}
	rep = checkElection(double, nil, 1000*ms)
	if len(rep.Violations) == 0 || rep.MaxOverlap != 100*time.Millisecond {
		t.Fatalf("a double leader not reported: %s", rep)
	}
	// A killed leader counts until its kill, not after.
	killed := map[string][]Record{"a": {ev("lead", 0)}, "b": {ev("lead", 400)}}
	if rep = checkElection(killed, map[string]int64{"a": 300 * ms}, 1000*ms); len(rep.Violations) > 0 {
		t.Fatalf("a leader after the old one's kill reported: %s", rep)
	}
	if rep = checkElection(killed, map[string]int64{"a": 450 * ms}, 1000*ms); len(rep.Violations) == 0 {
		t.Fatalf("a leader before the old one's kill not reported: %s", rep)
	}

	// Still leading after SUSPENDED: told too late, or believing it.
	late := map[string][]Record{"a": {ev("lead", 0), sess("SUSPENDED", 100, false), ev("unlead", 2100)}}
	if rep = checkElection(late, nil, 3000*ms); len(rep.Violations) == 0 {
		t.Fatalf("a leader that gave up 2 s after SUSPENDED not reported: %s", rep)
	}
	never := map[string][]Record{"a": {ev("lead", 0), sess("LOST", 100, false)}}
	if rep = checkElection(never, nil, 3000*ms); len(rep.Violations) == 0 {
		t.Fatalf("a leader that never gave up after LOST not reported: %s", rep)
	}
	unwarned := map[string][]Record{"a": {sess("CONNECTED", 0, false), ev("lead", 1), sess("LOST", 100, false), ev("unlead", 101)}}
	if rep = checkElection(unwarned, nil, 3000*ms); len(rep.Violations) == 0 {
		t.Fatalf("a leader whose session went LOST without SUSPENDED not reported: %s", rep)
	}
	believing := map[string][]Record{"a": {ev("lead", 0), ev("unlead", 100), sess("SUSPENDED", 100, true)}}
	if rep = checkElection(believing, nil, 3000*ms); len(rep.Violations) == 0 {
		t.Fatalf("IsLeader true after SUSPENDED not reported: %s", rep)
	}
}
