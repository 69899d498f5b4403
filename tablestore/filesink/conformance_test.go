package filesink_test

import (
	"testing"

	"github.com/hdfsha/hdfsha/tablestore"
	"github.com/hdfsha/hdfsha/tablestore/filesink"
	"github.com/hdfsha/hdfsha/tablestore/sinktest"
)

func TestConformance(t *testing.T) {
	sinktest.Run(t, func(t *testing.T) tablestore.Sink {
		s, err := filesink.Open(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

func TestConformanceThroughFaulty(t *testing.T) {
	sinktest.Run(t, func(t *testing.T) tablestore.Sink {
		s, err := filesink.Open(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		return sinktest.NewFaulty(s)
	})
}
