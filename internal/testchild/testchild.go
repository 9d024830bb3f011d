// Package testchild lets a test binary act as a child process: a test
// starts os.Args[0] with an environment variable set, and TestMain, seeing
// it, runs the child's work instead of the tests. Crash and signal tests
// use it to kill or signal real work (an index build, a training run,
// sleuth's main) at a moment of their choosing.
package testchild

import (
	"fmt"
	"os"
	"os/exec"
	"testing"
)

// Main is a TestMain body: when the environment variable env is set, it
// runs child with its value and exits (1 with the error printed, else 0);
// otherwise it runs the tests.
func Main(m *testing.M, env string, child func(value string) error) {
	if v := os.Getenv(env); v != "" {
		if err := child(v); err != nil {
			fmt.Fprintln(os.Stderr, "child:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// Command is the child's side of Main: the test binary, running no
// tests, with env=value added to its environment.
func Command(env, value string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), env+"="+value)
	return cmd
}
