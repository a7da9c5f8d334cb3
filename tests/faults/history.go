package faults

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"sync"
)

// Outcomes of a recorded call.
const (
	outcomeOK      = "ok"      // the server answered and the call took effect (or read)
	outcomeFail    = "fail"    // the server answered no: nothing was written (EVERSION)
	outcomeUnknown = "unknown" // ECONNLOSS, ETIMEOUT, ESESSION...: may or may not have taken effect
)

// Record is one line of a worker's history file (JSON lines). Kind says which fields
// mean something:
//
//	op        a register call: Client, Op (get/set/cas), Key, Value (written or read),
//	          Expected (cas), Version (returned), Call, Return, Outcome, Code
//	counter   one increment attempt (get then cas): Value/Version written, Outcome
//	lead      the contender became leader (Member: its node), at T
//	unlead    it stopped leading, at T; Code says why
//	session   a session transition, at T; Leader: IsLeader() right after it arrived
//	created   an ephemeral node was created (Member: its key)
type Record struct {
	Kind     string `json:"kind"`
	Worker   string `json:"worker"`
	Client   int    `json:"client,omitempty"`
	Op       string `json:"op,omitempty"`
	Key      string `json:"key,omitempty"`
	Value    string `json:"value,omitempty"`
	Expected int64  `json:"expected,omitempty"`
	Version  int64  `json:"version,omitempty"`
	Call     int64  `json:"call,omitempty"`
	Return   int64  `json:"ret,omitempty"`
	Outcome  string `json:"outcome,omitempty"`
	Code     string `json:"code,omitempty"`
	State    string `json:"state,omitempty"`
	Leader   bool   `json:"leader,omitempty"`
	Member   string `json:"member,omitempty"`
	T        int64  `json:"t,omitempty"`
}

// recorder appends records to a file, one write(2) per record, so that a worker
// SIGKILLed at any moment leaves every record it finished.
type recorder struct {
	mu sync.Mutex
	f  *os.File
}

func newRecorder(path string) (*recorder, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	return &recorder{f: f}, nil
}

func (r *recorder) add(rec Record) {
	b, err := json.Marshal(rec)
	if err != nil {
		panic(err)
	}
	b = append(b, '\n')
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, err := r.f.Write(b); err != nil {
		fmt.Fprintf(os.Stderr, "faults: cannot write a record: %v\n", err)
		os.Exit(3)
	}
}

func (r *recorder) close() error { return r.f.Close() }

// readRecords reads one history file. A last line cut by a SIGKILL is impossible
// (one write per line), so any unparsable line is an error.
func readRecords(path string) ([]Record, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []Record
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for line := 1; sc.Scan(); line++ {
		var r Record
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			return nil, fmt.Errorf("%s:%d: %v", path, line, err)
		}
		out = append(out, r)
	}
	return out, sc.Err()
}

// readDir reads every *.jsonl file of dir, by file name.
func readDir(dir string) (map[string][]Record, error) {
	paths, err := filepath.Glob(filepath.Join(dir, "*.jsonl"))
	if err != nil {
		return nil, err
	}
	sort.Strings(paths)
	out := map[string][]Record{}
	for _, p := range paths {
		recs, err := readRecords(p)
		if err != nil {
			return nil, err
		}
		out[filepath.Base(p)] = recs
	}
	return out, nil
}
