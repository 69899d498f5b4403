package namespace

import "testing"

func TestForEachFileWithBlocks(t *testing.T) {
	e := newEnv(t)
	e.writeFile("hdfs", "/a/f", 3, 10)
	e.writeFile("hdfs", "/a/g", 1, 5)
	if err := e.create("hdfs", "/a/empty", false); err != nil {
		t.Fatal(err)
	}
	blocks := map[string]int{}
	err := e.ns.ForEachFileWithBlocks(func(s *FileStatus) error {
		p, err := e.ns.FullPath(s.ID)
		if err != nil {
			return err
		}
		if _, dup := blocks[p]; dup {
			t.Errorf("%s listed twice", p)
		}
		blocks[p] = len(s.Blocks)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(blocks) != 2 || blocks["/a/f"] != 3 || blocks["/a/g"] != 1 {
		t.Fatalf("files %v", blocks)
	}
}
