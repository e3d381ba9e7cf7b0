//go:build !unix

package storage

import "errors"

// errNotDir never matches where the platform has no ENOTDIR.
var errNotDir = errors.New("not a directory")
