// A thin entry point that runs the real Consul agent's own command line, built from
// the pinned github.com/hashicorp/consul module (MPL-2.0). It mirrors Consul's own
// main.go of the same release so `consul agent -dev`, `consul leave`, ... behave as the
// released binary does. Used only by the test scripts in tests/servers/.
package main

import (
	"fmt"
	"io"
	"log"
	"os"

	mcli "github.com/mitchellh/cli"

	"github.com/hashicorp/consul/command"
	"github.com/hashicorp/consul/command/cli"
	"github.com/hashicorp/consul/command/version"
)

func main() {
	os.Exit(realMain())
}

func realMain() int {
	log.SetOutput(io.Discard)

	ui := &cli.BasicUI{
		BasicUi: mcli.BasicUi{Writer: os.Stdout, ErrorWriter: os.Stderr},
	}
	cmds := command.RegisteredCommands(ui)
	var names []string
	for c := range cmds {
		names = append(names, c)
	}

	c := &mcli.CLI{
		Args:        os.Args[1:],
		Commands:    cmds,
		Name:        "consul",
		HelpFunc:    mcli.FilteredHelpFunc(names, mcli.BasicHelpFunc("consul")),
		HelpWriter:  os.Stdout,
		ErrorWriter: os.Stderr,
	}

	if c.IsVersion() {
		return version.New(ui).Run(nil)
	}

	exitCode, err := c.Run()
	if err != nil {
		fmt.Fprintf(os.Stderr, "Error executing CLI: %v\n", err)
		return 1
	}
	return exitCode
}
