package web

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// ErrUploadRefused is what UploadImage returns, wrapped, when the NameNode answers 409: another
// upload is in progress, or it already has an image at least as new. The uploader has nothing
// more to do for that image.
var ErrUploadRefused = errors.New("image upload refused")

// DownloadImage fetches the image stamped txid (the newest when txid < 0) from the NameNode
// whose HTTP address is addr (host:port) into w, and returns the image's txid. A missing image
// gives an error wrapping ErrNoImage. A transfer broken midway is an error; w may then hold a
// partial image, which the caller discards.
func DownloadImage(ctx context.Context, c *http.Client, addr string, txid int64, w io.Writer) (int64, error) {
	q := url.Values{"getimage": {"1"}}
	if txid >= 0 {
		q.Set("txid", strconv.FormatInt(txid, 10))
	}
	u := "http://" + addr + "/imagetransfer?" + q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return 0, fmt.Errorf("web: %w", err)
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, fmt.Errorf("web: downloading image: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, statusError("GET", u, resp)
	}
	got, err := strconv.ParseInt(resp.Header.Get(TxIDHeader), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("web: GET %s: bad %s header %q", u, TxIDHeader, resp.Header.Get(TxIDHeader))
	}
	if _, err := io.Copy(w, resp.Body); err != nil {
		return 0, fmt.Errorf("web: GET %s: image %d broken off: %w", u, got, err)
	}
	return got, nil
}

// UploadImage sends the image stamped txid, read from r, to the NameNode whose HTTP address is
// addr. A 409 answer gives an error wrapping ErrUploadRefused.
func UploadImage(ctx context.Context, c *http.Client, addr string, txid int64, r io.Reader) error {
	u := "http://" + addr + "/imagetransfer?txid=" + strconv.FormatInt(txid, 10)
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, u, r)
	if err != nil {
		return fmt.Errorf("web: %w", err)
	}
	req.Header.Set("Content-Type", "application/octet-stream")
	resp, err := c.Do(req)
	if err != nil {
		return fmt.Errorf("web: uploading image %d: %w", txid, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return statusError("PUT", u, resp)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	return nil
}

// statusError turns a non-200 answer into an error carrying the server's message.
func statusError(method, u string, resp *http.Response) error {
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	msg := strings.TrimSpace(string(body))
	err := fmt.Errorf("web: %s %s: %s: %s", method, u, resp.Status, msg)
	switch resp.StatusCode {
	case http.StatusNotFound:
		return fmt.Errorf("%w (%w)", err, ErrNoImage)
	case http.StatusConflict:
		return fmt.Errorf("%w (%w)", err, ErrUploadRefused)
	}
	return err
}
