package image

import (
	"errors"
	"fmt"

	"github.com/hdfsha/hdfsha/internal/edits"
)

// ErrNoImage is returned by Newest when a name directory holds no image.
var ErrNoImage = errors.New("image: no image")

// ErrExists is returned by Receive when the image it would create is
// already there.
var ErrExists = errors.New("image: image exists")

// ErrCorrupt is the class of every corruption error of this package.
var ErrCorrupt = errors.New("image: corrupt")

// CorruptionError names a corrupt image (or stream) and the file in it that
// failed a check. errors.Is(err, ErrCorrupt) holds, and so does
// errors.Is(err, edits.ErrCorrupt): the NameNode treats a corrupt image and a
// corrupt edit segment alike (it refuses to start and names the file).
type CorruptionError struct {
	// Image is the image directory, or "stream" for Receive.
	Image string
	// File is the file inside the image ("" when the image as a whole is
	// bad, e.g. its manifest is missing).
	File string
	// Reason says what check failed.
	Reason string
}

func (e *CorruptionError) Error() string {
	if e.File == "" {
		return fmt.Sprintf("image: corrupt image %s: %s", e.Image, e.Reason)
	}
	return fmt.Sprintf("image: corrupt image %s: file %s: %s", e.Image, e.File, e.Reason)
}

// Is makes errors.Is(err, ErrCorrupt) and errors.Is(err, edits.ErrCorrupt)
// true.
func (e *CorruptionError) Is(target error) bool {
	return target == ErrCorrupt || target == edits.ErrCorrupt
}

func corruptf(image, file, format string, args ...any) error {
	return &CorruptionError{Image: image, File: file, Reason: fmt.Sprintf(format, args...)}
}
