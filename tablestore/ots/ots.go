// Package ots is the Alibaba Tablestore (OTS) sink of the metadata mirror.
package ots

import (
	sdk "github.com/aliyun/aliyun-tablestore-go-sdk/tablestore"
)

var _ = sdk.NewClient
