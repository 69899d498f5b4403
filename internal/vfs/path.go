package vfs

import "path/filepath"

// Join joins path elements with the OS separator.
func Join(elem ...string) string { return filepath.Join(elem...) }

// Dir returns all but the last element of a path.
func Dir(name string) string { return filepath.Dir(name) }

// Base returns the last element of a path.
func Base(name string) string { return filepath.Base(name) }
