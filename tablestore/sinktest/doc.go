// Package sinktest holds what tests of the metadata mirror share: Run, the
// conformance suite every tablestore.Sink passes; Faulty, a sink wrapper
// that simulates an outage (SetDown); and Mem, an in-memory sink that
// passes the suite and can damage a stored batch (CorruptEdits).
//
// A sink's test calls Run with a function that opens a new, empty sink:
//
//	func TestConformance(t *testing.T) {
//		sinktest.Run(t, func(t *testing.T) tablestore.Sink {
//			s, err := filesink.Open(t.TempDir())
//			if err != nil {
//				t.Fatal(err)
//			}
//			return s
//		})
//	}
//
// Beyond the tablestore.Sink contract the suite requires that calls after
// Close fail (with any error) and that a second Close does not panic.
package sinktest
