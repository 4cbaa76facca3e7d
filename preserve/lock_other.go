//go:build !unix

package preserve

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// lockDir takes an exclusive lock by creating dir/.lock.d, waiting up to a
// minute for another writer. Unlike the unix flock, a killed process leaves
// the directory behind; the error says how to clear it.
func lockDir(dir string) (func(), error) {
	name := filepath.Join(dir, ".lock.d")
	deadline := time.Now().Add(time.Minute)
	for {
		err := os.Mkdir(name, 0o755)
		if err == nil {
			return func() { os.Remove(name) }, nil
		}
		if !errors.Is(err, os.ErrExist) || time.Now().After(deadline) {
			return nil, fmt.Errorf("custody log %s is locked by another writer (remove %s if no custos process is running): %w", dir, name, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
