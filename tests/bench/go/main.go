// Command bench-anchor is the Go anchor of `cargo xtask bench`: net/http and
// encoding/json into a slice of structs, what a Go user would write.
//
//	bench-anchor <url>
//
// It runs the bench's query once against url and prints one JSON line, the
// same as bench-client: wall_ms and cpu_ms of the work, the rows and checksum
// it saw (cities: rows whose cityName is neither null nor empty), and its
// peak RSS (VmHWM). A measurement reference only, never a
// dependency of the project.
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// query is the bench's query on the table BENCH_TABLE names (default wikipedia).
func query() string {
	table := os.Getenv("BENCH_TABLE")
	if table == "" {
		table = "wikipedia"
	}
	return `SELECT __time, channel, page, "user", isRobot, added, deleted, delta, ` +
		`countryName, cityName FROM "` + strings.ReplaceAll(table, `"`, `""`) + `"`
}

// Row is one result row.
type Row struct {
	Time        string  `json:"__time"`
	Channel     string  `json:"channel"`
	Page        string  `json:"page"`
	User        string  `json:"user"`
	IsRobot     string  `json:"isRobot"`
	Added       int64   `json:"added"`
	Deleted     int64   `json:"deleted"`
	Delta       int64   `json:"delta"`
	CountryName *string `json:"countryName"`
	CityName    *string `json:"cityName"`
}

func cpuTime() time.Duration {
	var usage syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &usage); err != nil {
		return 0
	}
	return time.Duration(usage.Utime.Nano() + usage.Stime.Nano())
}

func peakRSSKiB() *int64 {
	file, err := os.Open("/proc/self/status")
	if err != nil {
		return nil
	}
	defer file.Close()
	scanner := bufio.NewScanner(file)
	for scanner.Scan() {
		if rest, ok := strings.CutPrefix(scanner.Text(), "VmHWM:"); ok {
			fields := strings.Fields(rest)
			if len(fields) > 0 {
				if kib, err := strconv.ParseInt(fields[0], 10, 64); err == nil {
					return &kib
				}
			}
		}
	}
	return nil
}

func run(url string) error {
	body, err := json.Marshal(map[string]string{"query": query(), "resultFormat": "object"})
	if err != nil {
		return err
	}
	wall, cpu := time.Now(), cpuTime()
	response, err := http.Post(strings.TrimRight(url, "/")+"/druid/v2/sql", "application/json", bytes.NewReader(body))
	if err != nil {
		return err
	}
	defer response.Body.Close()
	if response.StatusCode != http.StatusOK {
		return fmt.Errorf("status %s", response.Status)
	}
	var rows []Row
	if err := json.NewDecoder(response.Body).Decode(&rows); err != nil {
		return err
	}
	var added, delta int64
	var cities int64
	for i := range rows {
		added += rows[i].Added
		delta += rows[i].Delta
		if rows[i].CityName != nil && *rows[i].CityName != "" {
			cities++
		}
	}
	wallMs := float64(time.Since(wall).Nanoseconds()) / 1e6
	cpuMs := float64((cpuTime() - cpu).Nanoseconds()) / 1e6
	line, err := json.Marshal(map[string]any{
		"variant":   "go",
		"status":    "ok",
		"wall_ms":   wallMs,
		"cpu_ms":    cpuMs,
		"rows":      len(rows),
		"added_sum": added,
		"delta_sum": delta,
		"cities":    cities,
		"bytes":     nil,
		"rss_kib":   peakRSSKiB(),
	})
	if err != nil {
		return err
	}
	fmt.Println(string(line))
	return nil
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: bench-anchor <url>")
		os.Exit(2)
	}
	if err := run(os.Args[1]); err != nil {
		fmt.Fprintln(os.Stderr, "bench-anchor:", err)
		os.Exit(1)
	}
}
