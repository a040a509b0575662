//go:build !linux

package app

import "errors"

func forceRcvBuf(uintptr, int) error { return errors.New("not supported") }
