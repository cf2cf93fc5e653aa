package tests

import "sync"

// eachCase runs every case on one of the workers, each worker (a lab
// host) taking the next case as soon as it is done with its last, and
// returns when all are done. Cases differ a lot in how long they take
// (a ruleset of 3 rules or of 300, probes that time out), so a split
// fixed in advance would leave hosts idle while one works through its
// share.
func eachCase[W, C any](workers []W, cases []C, run func(W, C)) {
	queue := make(chan C)
	var wg sync.WaitGroup
	for _, w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for c := range queue {
				run(w, c)
			}
		}()
	}
	for _, c := range cases {
		queue <- c
	}
	close(queue)
	wg.Wait()
}
