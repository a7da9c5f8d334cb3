package faults

import (
	"fmt"
	"strconv"
)

// The CAS counter: one key holding a decimal number, created as "0" (version 1). A
// worker reads (n, v) and cas'es n+1 at v; every write is such an increment, so in
// every state value = version - 1. Its records (kind "counter") are the cas'es: ok
// (Value = n+1 written, Version = the new version acknowledged), fail (EVERSION:
// someone else incremented first), unknown.

// CounterReport is the counter's figures and the violations found.
type CounterReport struct {
	Acked, Failed, Unknown int
	Final, FinalVersion    int64
	Violations             []string
}

func (r CounterReport) String() string {
	s := fmt.Sprintf("acked %d, unknown %d, EVERSION %d, final %d (version %d): %d <= %d <= %d",
		r.Acked, r.Unknown, r.Failed, r.Final, r.FinalVersion, r.Acked, r.Final, r.Acked+r.Unknown)
	if len(r.Violations) == 0 {
		return s + ", no version acknowledged twice"
	}
	return s + fmt.Sprintf("; %d VIOLATIONS: %v", len(r.Violations), r.Violations)
}

// checkCounter checks the counter records against the final value and version read
// after every worker stopped.
func checkCounter(recs []Record, final, finalVersion int64) CounterReport {
	rep := CounterReport{Final: final, FinalVersion: finalVersion}
	versions := map[int64]string{}
	values := map[string]string{}
	for _, r := range recs {
		if r.Kind != "counter" {
			continue
		}
		switch r.Outcome {
		case outcomeFail:
			rep.Failed++
			continue
		case outcomeUnknown:
			rep.Unknown++
			continue
		}
		rep.Acked++
		who := fmt.Sprintf("%s client %d at %d", r.Worker, r.Client, r.Return)
		if prev, dup := versions[r.Version]; dup {
			rep.Violations = append(rep.Violations,
				fmt.Sprintf("version %d acknowledged twice (%s; %s)", r.Version, prev, who))
		}
		versions[r.Version] = who
		if prev, dup := values[r.Value]; dup {
			rep.Violations = append(rep.Violations,
				fmt.Sprintf("value %s acknowledged twice (%s; %s)", r.Value, prev, who))
		}
		values[r.Value] = who
		if n, err := strconv.ParseInt(r.Value, 10, 64); err != nil || n != r.Version-1 {
			rep.Violations = append(rep.Violations,
				fmt.Sprintf("value %s acknowledged at version %d (%s): every state has value = version-1",
					r.Value, r.Version, who))
		}
	}
	acked := int64(rep.Acked)
	if final < acked {
		rep.Violations = append(rep.Violations,
			fmt.Sprintf("final %d < acked %d: acknowledged increments lost", final, acked))
	}
	if final > acked+int64(rep.Unknown) {
		rep.Violations = append(rep.Violations,
			fmt.Sprintf("final %d > acked %d + unknown %d: increments from nowhere", final, acked, rep.Unknown))
	}
	if final != finalVersion-1 {
		rep.Violations = append(rep.Violations,
			fmt.Sprintf("final value %d at version %d: every state has value = version-1", final, finalVersion))
	}
	return rep
}
