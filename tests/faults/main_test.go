package faults

import (
	"os"
	"testing"
)

// TestMain runs a worker instead of the tests when FAULTS_WORKER names one: the
// suite starts its client processes by running this same binary again.
func TestMain(m *testing.M) {
	if kind := os.Getenv("FAULTS_WORKER"); kind != "" {
		os.Exit(runWorker(kind))
	}
	os.Exit(m.Run())
}
