module github.com/offkv/offkv/tests/faults

go 1.22

require (
	github.com/anishathalye/porcupine v1.3.1
	github.com/offkv/offkv/bindings/go v0.0.0
)

replace github.com/offkv/offkv/bindings/go => ../../bindings/go
