package faults

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/anishathalye/porcupine"
)

// The register workload's model: each key is a register holding (value, version),
// created by the test before the workers start as ("init", 1). Keys are independent,
// so the history is checked per key (porcupine's Partition).
//
// Outcomes: ok calls are checked against the state; a cas that failed (EVERSION)
// must see another version and leaves the state alone; a set or cas whose outcome is
// unknown (ECONNLOSS, ETIMEOUT, ...) never returns (Return = +inf), so the checker may
// place it at any point after its invocation, including after everything else, which
// is the same as not applied. Reads with an unknown outcome changed nothing and are
// left out.

const initValue = "init"

type regInput struct {
	Key      string
	Op       string // get, set, cas
	Value    string // written (set, cas)
	Expected int64  // cas
}

type regOutput struct {
	Outcome string
	Value   string // read (get)
	Version int64  // returned (get, set, cas when ok)
}

type regState struct {
	Value   string
	Version int64
}

var registerModel = porcupine.Model{
	Partition: func(history []porcupine.Operation) [][]porcupine.Operation {
		byKey := map[string][]porcupine.Operation{}
		var keys []string
		for _, op := range history {
			k := op.Input.(regInput).Key
			if _, ok := byKey[k]; !ok {
				keys = append(keys, k)
			}
			byKey[k] = append(byKey[k], op)
		}
		sort.Strings(keys)
		out := make([][]porcupine.Operation, 0, len(keys))
		for _, k := range keys {
			out = append(out, byKey[k])
		}
		return out
	},
	Init: func() interface{} { return regState{Value: initValue, Version: 1} },
	Step: func(state, input, output interface{}) (bool, interface{}) {
		s, in, out := state.(regState), input.(regInput), output.(regOutput)
		switch in.Op {
		case "get":
			return out.Value == s.Value && out.Version == s.Version, s
		case "set":
			next := regState{Value: in.Value, Version: s.Version + 1}
			if out.Outcome == outcomeUnknown {
				return true, next
			}
			return out.Version == next.Version, next
		case "cas":
			switch out.Outcome {
			case outcomeFail:
				return s.Version != in.Expected, s
			case outcomeUnknown:
				if s.Version == in.Expected {
					return true, regState{Value: in.Value, Version: s.Version + 1}
				}
				return true, s
			default:
				return s.Version == in.Expected && out.Version == s.Version+1,
					regState{Value: in.Value, Version: s.Version + 1}
			}
		}
		return false, s
	},
	Equal: func(a, b interface{}) bool { return a.(regState) == b.(regState) },
	DescribeOperation: func(input, output interface{}) string {
		return describeOp(input.(regInput), output.(regOutput))
	},
	DescribeState: func(state interface{}) string {
		s := state.(regState)
		return fmt.Sprintf("%q v%d", s.Value, s.Version)
	},
}

func describeOp(in regInput, out regOutput) string {
	var s string
	switch in.Op {
	case "get":
		s = fmt.Sprintf("get %s", in.Key)
	case "set":
		s = fmt.Sprintf("set %s %q", in.Key, in.Value)
	case "cas":
		s = fmt.Sprintf("cas %s %q if v%d", in.Key, in.Value, in.Expected)
	}
	switch {
	case out.Outcome == outcomeUnknown:
		s += " -> unknown"
	case out.Outcome == outcomeFail:
		s += " -> EVERSION"
	case in.Op == "get":
		s += fmt.Sprintf(" -> %q v%d", out.Value, out.Version)
	default:
		s += fmt.Sprintf(" -> v%d", out.Version)
	}
	return s
}

// registerOps turns the op records into porcupine operations (unknown reads dropped,
// unknown writes made never-returning).
func registerOps(recs []Record) []porcupine.Operation {
	var ops []porcupine.Operation
	for _, r := range recs {
		if r.Kind != "op" {
			continue
		}
		if r.Outcome == outcomeUnknown && r.Op == "get" {
			continue
		}
		ret := r.Return
		if r.Outcome == outcomeUnknown {
			ret = math.MaxInt64
		}
		ops = append(ops, porcupine.Operation{
			ClientId: r.Client,
			Input:    regInput{Key: r.Key, Op: r.Op, Value: r.Value, Expected: r.Expected},
			Call:     r.Call,
			Output:   regOutput{Outcome: r.Outcome, Value: r.Value, Version: r.Version},
			Return:   ret,
		})
	}
	return ops
}

// LinearReport is the result of checking a register history.
type LinearReport struct {
	Ops     int
	Result  porcupine.CheckResult
	BadKeys []string // keys whose history is not linearizable
	Excerpt string   // for each bad key: where the longest linearization got stuck
}

func (r LinearReport) String() string {
	switch r.Result {
	case porcupine.Ok:
		return fmt.Sprintf("linearizable (%d operations checked, 0 violations)", r.Ops)
	case porcupine.Illegal:
		return fmt.Sprintf("NOT LINEARIZABLE: keys %v\n%s", r.BadKeys, r.Excerpt)
	}
	return fmt.Sprintf("UNDECIDED: the checker timed out on %d operations", r.Ops)
}

// checkRegisters checks recs for linearizability against registerModel.
func checkRegisters(recs []Record, timeout time.Duration) LinearReport {
	ops := registerOps(recs)
	rep := LinearReport{Ops: len(ops)}
	rep.Result = porcupine.CheckOperationsTimeout(registerModel, ops, timeout)
	if rep.Result != porcupine.Illegal {
		return rep
	}
	var sb strings.Builder
	for _, part := range registerModel.Partition(ops) {
		res, info := porcupine.CheckOperationsVerbose(registerModel, part, timeout)
		if res != porcupine.Illegal {
			continue
		}
		key := part[0].Input.(regInput).Key
		rep.BadKeys = append(rep.BadKeys, key)
		sb.WriteString(stuckExcerpt(key, part, info))
	}
	rep.Excerpt = sb.String()
	return rep
}

// stuckExcerpt prints, for one key, the end of the longest partial linearization
// porcupine found and the operations that could not follow it (those that had been
// invoked by then and are not in it), with times relative to the first call.
func stuckExcerpt(key string, part []porcupine.Operation, info porcupine.LinearizationInfo) string {
	var sb strings.Builder
	t0 := part[0].Call
	for _, op := range part {
		if op.Call < t0 {
			t0 = op.Call
		}
	}
	at := func(t int64) string {
		if t == math.MaxInt64 {
			return "never"
		}
		return fmt.Sprintf("%.3fs", float64(t-t0)/1e9)
	}
	line := func(op porcupine.Operation) string {
		return fmt.Sprintf("    client %-5d [%s .. %s] %s\n", op.ClientId, at(op.Call), at(op.Return),
			describeOp(op.Input.(regInput), op.Output.(regOutput)))
	}
	// PartialLinearizationsOperations has one entry per partition of what it was
	// given: here the single partition part.
	var longest []porcupine.Operation
	for _, parts := range info.PartialLinearizationsOperations() {
		for _, lin := range parts {
			if len(lin) > len(longest) {
				longest = lin
			}
		}
	}
	fmt.Fprintf(&sb, "  key %s: %d operations; the longest linearization covers %d; its last steps:\n",
		key, len(part), len(longest))
	from := len(longest) - 8
	if from < 0 {
		from = 0
	}
	state := registerModel.Init()
	for i, op := range longest {
		_, state = registerModel.Step(state, op.Input, op.Output)
		if i >= from {
			sb.WriteString(line(op))
		}
	}
	fmt.Fprintf(&sb, "  state then: %s; none of these can come next:\n", registerModel.DescribeState(state))
	in := map[porcupine.Operation]bool{}
	for _, op := range longest {
		in[op] = true
	}
	var minReturn int64 = math.MaxInt64
	for _, op := range part {
		if !in[op] && op.Return < minReturn {
			minReturn = op.Return
		}
	}
	n := 0
	for _, op := range part {
		if !in[op] && op.Call <= minReturn && n < 12 {
			sb.WriteString(line(op))
			n++
		}
	}
	return sb.String()
}
