package faults

import (
	"fmt"
	"sort"
	"time"
)

// The election: three contender processes (a killed one is replaced by a new one).
// Each records, from one goroutine reading both its recipe events and its session
// events, "lead" and "unlead" at the time it was told, and every session transition
// with IsLeader() sampled right after it arrived.

// Interval is one leadership of one contender: from its LEADER event to its
// NOT_LEADER event, its SIGKILL, or the end of the run (still leading then).
type Interval struct {
	Contender  string
	Start, End int64
	EndedBy    string // the NOT_LEADER reason, "killed" or "end of run"
}

// ElectionReport is the election's figures and the violations found.
type ElectionReport struct {
	Intervals  []Interval
	MaxOverlap time.Duration // > 0 only when two contenders led at once
	MinGap     time.Duration // the shortest hand-over between two contenders
	// Suspensions: SUSPENDED/LOST transitions while leading; MaxGiveUp: the longest
	// time from such a transition to the NOT_LEADER that ends the leadership.
	Suspensions int
	MaxGiveUp   time.Duration
	// Leaderships ended by the session (NOT_LEADER with ECONNLOSS or ESESSION), and by
	// the member node erased under a live session (ENOENT).
	SessionEnded, Erased int
	Violations           []string
}

func (r ElectionReport) String() string {
	s := fmt.Sprintf("%d leadership intervals, max overlap %v, shortest hand-over %v, "+
		"%d ended by SUSPENDED/LOST (NOT_LEADER read after the session event: %d, within %v)",
		len(r.Intervals), r.MaxOverlap, r.MinGap, r.SessionEnded, r.Suspensions, r.MaxGiveUp)
	if len(r.Violations) > 0 {
		s += fmt.Sprintf("; %d VIOLATIONS: %v", len(r.Violations), r.Violations)
	}
	return s
}

// giveUpBound is how soon after a SUSPENDED or LOST transition a leader must have
// been told NOT_LEADER. The library clears the belief before it queues the session
// event (core/client.cpp on_session), so NOT_LEADER is queued first; the two reach the
// recording goroutine through separate channels, hence a bound rather than an order.
const giveUpBound = 500 * time.Millisecond

// checkElection checks the contenders' records (by contender name). killed holds the
// SIGKILL time of contenders the test killed; end is the end of the run.
func checkElection(byContender map[string][]Record, killed map[string]int64, end int64) ElectionReport {
	var rep ElectionReport
	names := make([]string, 0, len(byContender))
	for n := range byContender {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		leading := false
		var start int64
		var pendingSince int64 // a SUSPENDED/LOST seen while leading, not yet given up
		prevState := ""
		violation := func(f string, a ...interface{}) {
			rep.Violations = append(rep.Violations, name+": "+fmt.Sprintf(f, a...))
		}
		for _, r := range byContender[name] {
			switch r.Kind {
			case "lead":
				if leading {
					violation("LEADER twice without NOT_LEADER between (at %d)", r.T)
					continue
				}
				leading, start, pendingSince = true, r.T, 0
			case "unlead":
				if !leading {
					violation("NOT_LEADER while not leading (at %d)", r.T)
					continue
				}
				rep.Intervals = append(rep.Intervals, Interval{name, start, r.T, r.Code})
				switch r.Code {
				case "OFFKV_ECONNLOSS", "OFFKV_ESESSION":
					rep.SessionEnded++
				case "OFFKV_ENOENT":
					rep.Erased++
				}
				if pendingSince != 0 {
					d := time.Duration(r.T - pendingSince)
					if d > rep.MaxGiveUp {
						rep.MaxGiveUp = d
					}
					if d > giveUpBound {
						violation("session SUSPENDED/LOST at %d, NOT_LEADER only %v later", pendingSince, d)
					}
				}
				leading, pendingSince = false, 0
			case "session":
				prev := prevState
				prevState = r.State
				if r.State != "SUSPENDED" && r.State != "LOST" {
					continue
				}
				if r.Leader {
					violation("still leader (IsLeader) after its session became %s (at %d)", r.State, r.T)
				}
				// A leader must be warned (SUSPENDED) before its session can run out
				// (docs/recipes.md, "Guarantee"): LOST straight from CONNECTED means
				// it learned of the loss only when the session was already gone.
				if r.State == "LOST" && leading && prev == "CONNECTED" {
					violation("session went LOST without SUSPENDED first while leading (at %d)", r.T)
				}
				if leading && pendingSince == 0 {
					rep.Suspensions++
					pendingSince = r.T
				}
			}
			if leading && pendingSince != 0 && r.T-pendingSince > int64(giveUpBound) {
				violation("session SUSPENDED/LOST at %d, still leading %v later", pendingSince,
					time.Duration(r.T-pendingSince))
				pendingSince = 0
			}
		}
		if leading {
			iv := Interval{name, start, end, "end of run"}
			if k, ok := killed[name]; ok {
				iv.End, iv.EndedBy = k, "killed"
			}
			if pendingSince != 0 && iv.End-pendingSince > int64(giveUpBound) {
				violation("session SUSPENDED/LOST at %d, never gave up leadership", pendingSince)
			}
			rep.Intervals = append(rep.Intervals, iv)
		}
	}
	sort.Slice(rep.Intervals, func(i, j int) bool { return rep.Intervals[i].Start < rep.Intervals[j].Start })
	rep.MinGap = -1
	for i, a := range rep.Intervals {
		for _, b := range rep.Intervals[i+1:] {
			if a.Contender == b.Contender {
				continue
			}
			lo, hi := b.Start, a.End // b starts no earlier than a
			if b.End < hi {
				hi = b.End
			}
			if overlap := time.Duration(hi - lo); overlap > 0 {
				if overlap > rep.MaxOverlap {
					rep.MaxOverlap = overlap
				}
				rep.Violations = append(rep.Violations, fmt.Sprintf(
					"%s and %s led at once for %v (%s [%d, %d], %s [%d, %d])", a.Contender,
					b.Contender, overlap, a.Contender, a.Start, a.End, b.Contender, b.Start, b.End))
			}
		}
		// The hand-over to the next interval of someone else.
		for _, b := range rep.Intervals[i+1:] {
			if b.Contender != a.Contender {
				if g := time.Duration(b.Start - a.End); g >= 0 && (rep.MinGap < 0 || g < rep.MinGap) {
					rep.MinGap = g
				}
				break
			}
		}
	}
	if rep.MinGap < 0 {
		rep.MinGap = 0
	}
	return rep
}
