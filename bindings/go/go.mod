module github.com/offkv/offkv/bindings/go

go 1.22
