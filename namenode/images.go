package namenode

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/hdfsha/hdfsha/namenode/image"
	"github.com/hdfsha/hdfsha/namenode/web"
)

// imageStore serves /imagetransfer from the name directory.
func (n *NameNode) imageStore() web.ImageStore { return imageStore{dir: n.cfg.NameDir} }

// imageStore is the name directory as web.ImageStore.
type imageStore struct{ dir string }

func (s imageStore) Stream(w io.Writer, txid int64) error {
	p := image.Path(s.dir, txid)
	if _, err := os.Stat(p); err != nil {
		return fmt.Errorf("%w: %s", web.ErrNoImage, image.Name(txid))
	}
	return image.Stream(w, image.Info{TxID: txid, Path: p})
}

func (s imageStore) Receive(r io.Reader, txid int64) error {
	_, err := image.Receive(r, s.dir, txid)
	return err
}

func (s imageStore) Newest() (int64, error) {
	info, err := image.Newest(s.dir)
	if errors.Is(err, image.ErrNoImage) {
		return 0, fmt.Errorf("%w: %v", web.ErrNoImage, err)
	}
	return info.TxID, err
}
