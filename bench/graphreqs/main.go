// Command graphreqs counts the Graph requests an Intune acquisition made,
// as Graph's throttling counts them: a request sent on its own is one, and
// a JSON $batch is as many as the items it carried (its envelope is not
// evaluated on its own). bench/collect.sh divides this by the rate limit to
// get the floor of a collection's wall time.
//
//	graphreqs STAGING-DIR
//
// It reads raw/intune/requests.ndjson and, for each $batch, its stored
// response, and prints one line of shell assignments:
//
//	requests=N http=N batches=N s200=N s429=N s503=N other=N
//
// where requests counts evaluated requests and the status counts are over
// them (a $batch item by its own status).
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: graphreqs STAGING-DIR")
		os.Exit(2)
	}
	if err := run(os.Args[1]); err != nil {
		fmt.Fprintln(os.Stderr, "graphreqs:", err)
		os.Exit(1)
	}
}

func run(dir string) error {
	f, err := os.Open(filepath.Join(dir, "raw", "intune", "requests.ndjson"))
	if err != nil {
		return err
	}
	defer f.Close()
	var requests, http, batches int
	status := map[int]int{}
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var ex struct {
			URL    string `json:"url"`
			Status int    `json:"status"`
			File   string `json:"file"`
		}
		if err := json.Unmarshal(sc.Bytes(), &ex); err != nil {
			return fmt.Errorf("request log line %d: %w", http+1, err)
		}
		http++
		path, _, _ := strings.Cut(ex.URL, "?")
		if !strings.HasSuffix(path, "/$batch") || ex.Status != 200 || ex.File == "" {
			requests++
			status[ex.Status]++
			continue
		}
		items, err := batchStatuses(filepath.Join(dir, "raw", "intune", filepath.FromSlash(ex.File)))
		if err != nil {
			return err
		}
		batches++
		requests += len(items)
		for _, s := range items {
			status[s]++
		}
	}
	if err := sc.Err(); err != nil {
		return err
	}
	other := requests - status[200] - status[429] - status[503]
	fmt.Printf("requests=%d http=%d batches=%d s200=%d s429=%d s503=%d other=%d\n",
		requests, http, batches, status[200], status[429], status[503], other)
	return nil
}

// batchStatuses reads the item statuses of a stored $batch response; a
// response that is not one (a broken body) counts as one request.
func batchStatuses(path string) ([]int, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var env struct {
		Responses []struct {
			Status int `json:"status"`
		} `json:"responses"`
	}
	if json.Unmarshal(data, &env) != nil || len(env.Responses) == 0 {
		return []int{0}, nil
	}
	out := make([]int, len(env.Responses))
	for i, r := range env.Responses {
		out[i] = r.Status
	}
	return out, nil
}
