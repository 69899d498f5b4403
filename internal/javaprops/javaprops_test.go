package javaprops

import (
	"reflect"
	"testing"
)

func TestRoundTripAndSyntax(t *testing.T) {
	props := map[string]string{"namespaceID": "42", "clusterID": "CID-1", "storageType": "DATA_NODE", "empty": ""}
	text := Format("Sat Nov 21 06:00:00 UTC 2026", props)
	want := "#Sat Nov 21 06:00:00 UTC 2026\nclusterID=CID-1\nempty=\nnamespaceID=42\nstorageType=DATA_NODE\n"
	if string(text) != want {
		t.Fatalf("Format:\n%s\nwant\n%s", text, want)
	}
	if got := Parse(text); !reflect.DeepEqual(got, props) {
		t.Fatalf("Parse(Format) = %v", got)
	}
	got := Parse([]byte("! a comment\r\n  cTime : 0 \n\nlayoutVersion=-57\nflag\nurl=a=b\n"))
	wantP := map[string]string{"cTime": "0", "layoutVersion": "-57", "flag": "", "url": "a=b"}
	if !reflect.DeepEqual(got, wantP) {
		t.Fatalf("Parse = %v, want %v", got, wantP)
	}
}
