// Package bench holds the logic of the `hdfs bench` tools; cmd/hdfs only parses their command
// lines and wires them to a configuration.
//
// NNThroughput is Hadoop's NNThroughputBenchmark run over RPC against a running NameNode: N
// goroutines (Hadoop's StatsDaemon threads) split M operations between them, each issuing
// ClientNamenodeProtocol calls back to back, and the results are printed with Hadoop's labels
// ("# operations:", "Elapsed Time:", " Ops per sec:", "Average Time:") so scripts that scrape
// Hadoop's output keep working. Inputs (the files that open, fileStatus, rename and delete work
// on) are created before the clock starts, under /nnThroughputBenchmark/<op>, which is deleted
// afterwards unless KeepResults is set.
//
// Unlike Hadoop's benchmark, which embeds the NameNode in the benchmark's JVM and calls it
// directly, every operation here is a real RPC over TCP: the figures include the IPC layer,
// the group-committed edit log sync and the network stack, which is what a client sees.
package bench
