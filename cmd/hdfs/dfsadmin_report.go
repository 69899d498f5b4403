package main

import (
	"context"
	"fmt"
	"io"
	"math"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/hdfsha/hdfsha/proto/hdfspb"
)

// `hdfs dfsadmin -report`: Hadoop's DFSAdmin.report over getFsStats and getDatanodeReport,
// with DatanodeInfo.getDatanodeReport's per-node text. Every call goes to the active
// NameNode through the client's failover, as Hadoop's DistributedFileSystem does.

const reportUsage = "[-live] [-dead] [-decommissioning] [-enteringmaintenance] [-inmaintenance]"

// reportOp is the -report entry of dfsadmin's ops.
func reportOp() toolOp {
	return toolOp{
		Name: "-report", Args: reportUsage,
		Help:    "Reports basic filesystem information and statistics. Optional flags may be used to filter the list of displayed DNs.",
		MinArgs: 0, MaxArgs: 5, Run: runReport,
	}
}

// reportSection is one DataNode list of the report, in Hadoop's order.
type reportSection struct {
	flag  string
	typ   hdfspb.DatanodeReportTypeProto
	title string
}

var reportSections = []reportSection{
	{"-live", hdfspb.DatanodeReportTypeProto_LIVE, "Live"},
	{"-dead", hdfspb.DatanodeReportTypeProto_DEAD, "Dead"},
	{"-decommissioning", hdfspb.DatanodeReportTypeProto_DECOMMISSIONING, "Decommissioning"},
	{"-enteringmaintenance", hdfspb.DatanodeReportTypeProto_ENTERING_MAINTENANCE, "Entering maintenance"},
	{"-inmaintenance", hdfspb.DatanodeReportTypeProto_IN_MAINTENANCE, "In maintenance"},
}

func runReport(tc *toolContext, args []string) error {
	// DFSAdmin pops the filter flags it knows and ignores anything else.
	chosen := map[string]bool{}
	for _, a := range args {
		chosen[a] = true
	}
	listAll := true
	for _, s := range reportSections {
		if chosen[s.flag] {
			listAll = false
		}
	}

	c, err := newAdminClient(tc, "report")
	if err != nil {
		return err
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(tc.Ctx, 2*time.Minute)
	defer cancel()

	var stats hdfspb.GetFsStatsResponseProto
	if err := c.Call(ctx, "getFsStats", &hdfspb.GetFsStatusRequestProto{}, &stats); err != nil {
		return adminFail(tc, "report", err)
	}
	var sm hdfspb.SetSafeModeResponseProto
	if err := c.Call(ctx, "setSafeMode", &hdfspb.SetSafeModeRequestProto{Action: hdfspb.SafeModeActionProto_SAFEMODE_GET.Enum()}, &sm); err != nil {
		return adminFail(tc, "report", err)
	}
	var b strings.Builder
	writeFsReport(&b, &stats, sm.GetResult())
	for _, s := range reportSections {
		if !listAll && !chosen[s.flag] {
			continue
		}
		var resp hdfspb.GetDatanodeReportResponseProto
		if err := c.Call(ctx, "getDatanodeReport", &hdfspb.GetDatanodeReportRequestProto{Type: s.typ.Enum()}, &resp); err != nil {
			return adminFail(tc, "report", err)
		}
		writeNodeSection(&b, s.title, resp.GetDi(), chosen[s.flag], lookupHostName, time.Local)
	}
	_, err = io.WriteString(tc.Out, b.String())
	return err
}

// writeFsReport writes the cluster half of DFSAdmin.report: safe mode, capacity, the
// replicated-block counts, the erasure-coded section (this NameNode has no EC blocks) and
// the separator.
func writeFsReport(b *strings.Builder, st *hdfspb.GetFsStatsResponseProto, safeMode bool) {
	capacity, used, remaining := int64(st.GetCapacity()), int64(st.GetUsed()), int64(st.GetRemaining())
	present := used + remaining
	if safeMode {
		b.WriteString("Safe mode is ON\n")
		if f := st.GetBlocksInFuture(); f > 0 {
			b.WriteString("\nWARNING: \n")
			b.WriteString("Name node has detected blocks with generation stamps in future.\n")
			fmt.Fprintf(b, "Forcing exit from safemode will cause %d byte(s) to be deleted.\n", f)
			b.WriteString("If you are sure that the NameNode was started with the correct metadata files then you may proceed with '-safemode forceExit'\n\n")
		}
	}
	fmt.Fprintf(b, "Configured Capacity: %d (%s)\n", capacity, byteDesc(capacity))
	fmt.Fprintf(b, "Present Capacity: %d (%s)\n", present, byteDesc(present))
	fmt.Fprintf(b, "DFS Remaining: %d (%s)\n", remaining, byteDesc(remaining))
	fmt.Fprintf(b, "DFS Used: %d (%s)\n", used, byteDesc(used))
	usedFraction := 0.0
	if present != 0 {
		usedFraction = float64(used) / float64(present)
	}
	fmt.Fprintf(b, "DFS Used%%: %s%%\n", javaFixed(usedFraction*100, 2))
	b.WriteString("Replicated Blocks:\n")
	fmt.Fprintf(b, "\tUnder replicated blocks: %d\n", st.GetUnderReplicated())
	fmt.Fprintf(b, "\tBlocks with corrupt replicas: %d\n", st.GetCorruptBlocks())
	fmt.Fprintf(b, "\tMissing blocks: %d\n", st.GetMissingBlocks())
	fmt.Fprintf(b, "\tMissing blocks (with replication factor 1): %d\n", st.GetMissingReplOneBlocks())
	// "Low redundancy blocks with highest priority to recover" comes from
	// getReplicatedBlockStats, which this NameNode does not serve; Hadoop leaves the
	// line out when the figure is absent.
	fmt.Fprintf(b, "\tPending deletion blocks: %d\n", st.GetPendingDeletionBlocks())
	b.WriteString("Erasure Coded Block Groups: \n")
	b.WriteString("\tLow redundancy block groups: 0\n")
	b.WriteString("\tBlock groups with corrupt internal blocks: 0\n")
	b.WriteString("\tMissing block groups: 0\n")
	b.WriteString("\tPending deletion blocks: 0\n")
	b.WriteString("\n-------------------------------------------------\n")
}

// writeNodeSection is DFSAdmin.printDataNodeReports: the title when there are nodes or
// the list was asked for by its flag, then each node's report and a blank line.
func writeNodeSection(b *strings.Builder, title string, nodes []*hdfspb.DatanodeInfoProto, asked bool, lookup func(ip string) string, loc *time.Location) {
	if len(nodes) > 0 || asked {
		fmt.Fprintf(b, "%s datanodes (%d):\n\n", title, len(nodes))
	}
	for _, dn := range nodes {
		b.WriteString(datanodeReport(dn, lookup, loc))
		b.WriteString("\n\n")
	}
}

// datanodeReport is DatanodeInfo.getDatanodeReport.
func datanodeReport(dn *hdfspb.DatanodeInfoProto, lookup func(ip string) string, loc *time.Location) string {
	id := dn.GetId()
	c, r, u := int64(dn.GetCapacity()), int64(dn.GetRemaining()), int64(dn.GetDfsUsed())
	nonDFS := int64(dn.GetNonDfsUsed())
	if dn.NonDfsUsed == nil {
		// PBHelperClient's fallback for DataNodes that do not report it.
		nonDFS = max(0, c-u-r)
	}
	cc, cu := int64(dn.GetCacheCapacity()), int64(dn.GetCacheUsed())
	cr := cc - cu
	// DatanodeID.getXferAddr: "ip:port", without brackets even for IPv6.
	name := id.GetIpAddr() + ":" + strconv.Itoa(int(id.GetXferPort()))

	var b strings.Builder
	b.WriteString("Name: " + name)
	if h := lookup(id.GetIpAddr()); h != "" {
		b.WriteString(" (" + h + ")")
	}
	b.WriteString("\n")
	b.WriteString("Hostname: " + id.GetHostName() + "\n")
	if l := dn.GetLocation(); l != "" && l != "/default-rack" {
		b.WriteString("Rack: " + l + "\n")
	}
	if ud := dn.GetUpgradeDomain(); ud != "" {
		b.WriteString("Upgrade domain: " + ud + "\n")
	}
	b.WriteString("Decommission Status : ")
	switch dn.GetAdminState() {
	case hdfspb.DatanodeInfoProto_DECOMMISSIONED:
		b.WriteString("Decommissioned\n")
	case hdfspb.DatanodeInfoProto_DECOMMISSION_INPROGRESS:
		b.WriteString("Decommission in progress\n")
	case hdfspb.DatanodeInfoProto_IN_MAINTENANCE:
		b.WriteString("In maintenance\n")
	case hdfspb.DatanodeInfoProto_ENTERING_MAINTENANCE:
		b.WriteString("Entering maintenance\n")
	default:
		b.WriteString("Normal\n")
	}
	fmt.Fprintf(&b, "Configured Capacity: %d (%s)\n", c, byteDesc(c))
	fmt.Fprintf(&b, "DFS Used: %d (%s)\n", u, byteDesc(u))
	fmt.Fprintf(&b, "Non DFS Used: %d (%s)\n", nonDFS, byteDesc(nonDFS))
	fmt.Fprintf(&b, "DFS Remaining: %d (%s)\n", r, byteDesc(r))
	fmt.Fprintf(&b, "DFS Used%%: %s\n", percent2String(percentUsed(u, c)))
	fmt.Fprintf(&b, "DFS Remaining%%: %s\n", percent2String(percentRemaining(r, c)))
	fmt.Fprintf(&b, "Configured Cache Capacity: %d (%s)\n", cc, byteDesc(cc))
	fmt.Fprintf(&b, "Cache Used: %d (%s)\n", cu, byteDesc(cu))
	fmt.Fprintf(&b, "Cache Remaining: %d (%s)\n", cr, byteDesc(cr))
	fmt.Fprintf(&b, "Cache Used%%: %s\n", percent2String(percentUsed(cu, cc)))
	fmt.Fprintf(&b, "Cache Remaining%%: %s\n", percent2String(percentRemaining(cr, cc)))
	fmt.Fprintf(&b, "Xceivers: %d\n", dn.GetXceiverCount())
	fmt.Fprintf(&b, "Last contact: %s\n", javaDateIn(int64(dn.GetLastUpdate()), loc))
	lastReport := "Never"
	if t := dn.GetLastBlockReportTime(); t != 0 {
		lastReport = javaDateIn(int64(t), loc)
	}
	fmt.Fprintf(&b, "Last Block Report: %s\n", lastReport)
	fmt.Fprintf(&b, "Num of Blocks: %d\n", dn.GetNumBlocks())
	return b.String()
}

// lookupHostName is NetUtils.getHostNameOfIP: the reverse lookup of ip, or the ip itself
// when there is none (InetAddress.getHostName's answer).
func lookupHostName(ip string) string {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	names, err := net.DefaultResolver.LookupAddr(ctx, ip)
	if err != nil || len(names) == 0 {
		return ip
	}
	return strings.TrimSuffix(names[0], ".")
}

// percentUsed and percentRemaining are DFSUtilClient.getPercentUsed/-Remaining, in
// Java float arithmetic.
func percentUsed(used, capacity int64) float32 {
	if capacity <= 0 {
		return 100
	}
	return float32(used) * 100 / float32(capacity)
}

func percentRemaining(remaining, capacity int64) float32 {
	if capacity <= 0 {
		return 0
	}
	return float32(remaining) * 100 / float32(capacity)
}

// percent2String is DFSUtilClient.percent2String: "%.2f" of the float, then "%".
func percent2String(p float32) string { return javaFixed(float64(p), 2) + "%" }

// javaDateIn is java.util.Date(ms).toString() in loc.
func javaDateIn(ms int64, loc *time.Location) string {
	return time.UnixMilli(ms).In(loc).Format("Mon Jan 02 15:04:05 MST 2006")
}

// byteDesc is StringUtils.byteDesc: TraditionalBinaryPrefix.long2String(n, "B", 2).
// A multiple of the unit prints whole ("256 GB"), anything else with two decimals
// ("1.50 GB"); below 1 KB plain bytes ("24 B").
func byteDesc(n int64) string {
	const symbols = "KMGTPE"
	neg := ""
	if n == math.MinInt64 {
		return "-8 EB"
	}
	if n < 0 {
		neg, n = "-", -n
	}
	if n < 1024 {
		return neg + strconv.FormatInt(n, 10) + " B"
	}
	i := 0 // index into symbols: KILO is shift 10
	for i+1 < len(symbols) && n >= int64(1)<<(10*(i+2)) {
		i++
	}
	shift := uint(10 * (i + 1))
	var s string
	if n&(int64(1)<<shift-1) == 0 {
		s = strconv.FormatInt(n>>shift, 10)
	} else {
		s = javaFixed(float64(n)/float64(int64(1)<<shift), 2)
		if strings.HasPrefix(s, "1024") && i+1 < len(symbols) {
			i++
			shift += 10
			s = javaFixed(float64(n)/float64(int64(1)<<shift), 2)
		}
	}
	return neg + s + " " + symbols[i:i+1] + "B"
}

// javaFixed is Java's String.format("%.<places>f", v): Java rounds the shortest decimal
// form of v half up (Go's %f rounds the exact binary value half to even, which differs
// on ties such as 1.125).
func javaFixed(v float64, places int) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return strconv.FormatFloat(v, 'f', places, 64)
	}
	neg := math.Signbit(v) && v != 0
	v = math.Abs(v)
	mant, exp, _ := strings.Cut(strconv.FormatFloat(v, 'e', -1, 64), "e")
	digits := strings.Replace(mant, ".", "", 1)
	e, _ := strconv.Atoi(exp)
	// value = 0.d1d2d3... * 10^(e+1); keep the digits down to 10^-places.
	keep := e + 1 + places
	roundUp := false
	switch {
	case v == 0 || keep < 0:
		digits = "0"
	case keep == 0:
		roundUp = digits[0] >= '5'
		digits = "0"
	case len(digits) > keep:
		roundUp = digits[keep] >= '5'
		digits = digits[:keep]
	default:
		digits += strings.Repeat("0", keep-len(digits))
	}
	if roundUp {
		buf := []byte(digits)
		i := len(buf) - 1
		for ; i >= 0; i-- {
			if buf[i] < '9' {
				buf[i]++
				break
			}
			buf[i] = '0'
		}
		if i < 0 {
			buf = append([]byte{'1'}, buf...)
		}
		digits = string(buf)
	}
	if len(digits) <= places {
		digits = strings.Repeat("0", places+1-len(digits)) + digits
	}
	intPart, frac := digits[:len(digits)-places], digits[len(digits)-places:]
	intPart = strings.TrimLeft(intPart, "0")
	if intPart == "" {
		intPart = "0"
	}
	out := intPart
	if places > 0 {
		out += "." + frac
	}
	if neg && strings.Trim(out, "0.") != "" {
		out = "-" + out
	}
	return out
}
