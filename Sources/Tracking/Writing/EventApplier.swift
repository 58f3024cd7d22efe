import Events

/// Applies one event to the state: registration, counters, windows, states (SPEC section 2).
struct EventApplier {
    let options: StoreOptions
    /// Arrival time of the batch.
    let now: Double
    /// The batch's sequence number, stamped on every job and agent it touches.
    let sequence: UInt64
    /// The snapshot capture in progress, whose agents must be preserved before they change.
    let capture: UInt32?
    /// The job of the previous event: a batch is mostly one job's, so most events skip the lookup.
    private var lastJob: JobRecord?

    init(options: StoreOptions, now: Double, sequence: UInt64 = 0, capture: UInt32? = nil) {
        self.options = options
        self.now = now
        self.sequence = sequence
        self.capture = capture
    }

    /// Returns the time the event was placed at, or nil when it was a duplicate.
    mutating func apply(_ event: Event, to state: inout StoreState) -> Double? {
        let time = placedTime(of: event)
        if let id = event.id,
           !state.dedup.insert(id, at: now, window: options.dedupWindow, capacity: options.maxDedupIds, byteCapacity: options.maxDedupBytes) {
            state.stats.duplicates += 1
            return nil
        }
        guard let job = register(job: event.job, at: time, in: &state) else {
            state.stats.untrackedJobEvents += 1
            return nil
        }
        job.changedAt = sequence
        job.firstEventTime = min(job.firstEventTime, time)
        job.lastEventTime = max(job.lastEventTime, time)

        var agentIndex: Int?
        if let agentID = event.agent {
            agentIndex = register(agent: agentID, of: job, for: event, at: time, in: &state)
            if let index = agentIndex {
                job.agents[index].markSeen(at: time)
                job.agents[index].changedAt = sequence
            }
        }
        switch event.kind {
        case .jobStarted:
            job.startTime = time
            if let total = event.totalItems { job.totalItems = total }
            if let work = event.totalWork { job.work.startedTotal = work }
            if let deadline = event.deadline { job.deadline = deadline }
            setStatus(.running, of: job, at: time)
        case .jobItemsAdded:
            job.addItems(event.count ?? 0)
            job.work.added += event.totalWork ?? 0
        case .jobCompleted, .jobFailed, .jobCancelled:
            let status: JobStatus = event.kind == .jobCompleted ? .completed : event.kind == .jobFailed ? .failed : .cancelled
            if setStatus(status, of: job, at: time) { job.error = event.error }
        case .jobPaused:
            setStatus(.paused, of: job, at: time)
        case .jobResumed:
            setStatus(.running, of: job, at: time)
        // The closures below take the event's fields, not the event: a closure that captures the
        // event copies all of it (a dozen strings and optionals), which cost a few percent of ingestion.
        case .agentStarted:
            let item = event.item, totalSteps = event.totalSteps
            updateAgent(agentIndex, of: job) { agent in
                agent.currentItem = item
                agent.itemStartTime = time
                agent.step = nil
                agent.stepsCompleted = nil
                agent.progressRatio = nil
                agent.totalSteps = totalSteps
                agent.markProgress(at: time)
                agent.setState(.running, at: time)
            }
        case .agentProgress:
            let item = event.item, step = event.step, stepsCompleted = event.stepsCompleted
            let totalSteps = event.totalSteps, progress = event.progress
            updateAgent(agentIndex, of: job) { agent in
                if let item, item != agent.currentItem {
                    agent.currentItem = item
                    agent.itemStartTime = time
                }
                if agent.itemStartTime == nil { agent.itemStartTime = time }
                if let step { agent.step = step }
                if let stepsCompleted { agent.stepsCompleted = stepsCompleted }
                if let totalSteps { agent.totalSteps = totalSteps }
                if let progress { agent.progressRatio = progress }
                agent.markProgress(at: time)
                agent.setState(.running, at: time)
            }
        case .agentHeartbeat:
            break
        case .agentState:
            if let newState = event.state {
                updateAgent(agentIndex, of: job) { $0.setState(newState, at: time) }
            }
        case .agentRetrying:
            job.retries += 1
            updateAgent(agentIndex, of: job) { agent in
                agent.retries += 1
                agent.markProgress(at: time)
                agent.setState(.retrying, at: time)
            }
        case .itemCompleted:
            itemCompleted(event, agentIndex: agentIndex, job: job, at: time)
            recordForecast(of: job, at: time)
        case .itemFailed:
            itemFailed(event, agentIndex: agentIndex, job: job, at: time)
            recordForecast(of: job, at: time)
        case .itemDeadLettered:
            job.deadLettered += 1
            let item = event.item ?? agentIndex.flatMap { job.agents[$0].currentItem }
            if finish(item: item, of: job, at: time), let work = event.work { job.work.observe(work: work, seconds: nil) }
            // Dead-letter events carry no agent: the agent working on the item is the one given up.
            let owner = agentIndex ?? item.flatMap { item in job.agents.firstIndex { $0.currentItem == item } }
            job.failureLog.recordDeadLetter(time: time, agent: owner.map { job.agents[$0].id } ?? event.agent, item: item, error: event.error)
            updateAgent(owner, of: job) { agent in
                agent.deadLettered += 1
                agent.setState(.deadLettered, at: time)
            }
            recordForecast(of: job, at: time)
        }
        return time
    }

    /// The event's own time, clamped when it is too far in the future; the arrival time when absent.
    private func placedTime(of event: Event) -> Double {
        guard let time = event.time, time.isFinite else { return now }
        return time > now + options.maxFutureSkew ? now : time
    }

    /// Finds or registers the job; nil past `--jobs.max-tracked`.
    private mutating func register(job id: String, at time: Double, in state: inout StoreState) -> JobRecord? {
        if let lastJob, lastJob.id == id { return lastJob }
        if let job = state.jobs[id] {
            lastJob = job
            return job
        }
        guard state.jobs.count < options.maxTrackedJobs else { return nil }
        let job = JobRecord(id: id, time: time)
        state.jobs[id] = job
        state.jobOrder = nil
        lastJob = job
        return job
    }

    /// Finds or registers the agent ("early registration"); nil past the tracked-agents limit.
    private func register(agent id: String, of job: JobRecord, for event: Event, at time: Double, in state: inout StoreState) -> Int? {
        if let index = job.agentIndex[id] {
            job.agents[index].preserve(for: capture)
            return index
        }
        guard state.trackedAgents < options.maxTrackedAgents else {
            state.stats.untrackedAgentEvents += 1
            return nil
        }
        let initial: AgentState = event.kind == .agentState ? (event.state ?? .running) : .running
        let agent = AgentRecord(
            id: id, jobLabels: job.labels, sampleHash: StableHash.of(job.id, id), state: initial, time: time)
        // Registered after the capture in progress began: not part of it.
        agent.captureMark = capture ?? 0
        job.agents.append(agent)
        job.agentIndex[id] = job.agents.count - 1
        job.agentsByState[initial.ordinal] += 1
        job.candidates.offer(agent, options: options)
        state.trackedAgents += 1
        return job.agents.count - 1
    }

    /// Mutates one agent in place and keeps the job's per-state and in-flight counts exact.
    private func updateAgent(_ index: Int?, of job: JobRecord, _ change: (AgentRecord) -> Void) {
        guard let index else { return }
        let agent = job.agents[index]
        agent.preserve(for: capture)
        let before = agent.state
        let heldItem = agent.holdsItem
        let heldSince = agent.itemStartTime
        change(agent)
        let after = agent.state
        if before != after {
            job.agentsByState[before.ordinal] -= 1
            job.agentsByState[after.ordinal] += 1
        }
        if heldItem != agent.holdsItem { job.itemsInFlight += agent.holdsItem ? 1 : -1 }
        if agent.holdsItem, !heldItem || agent.itemStartTime != heldSince {
            job.heldItems.add(agent, holding: job.itemsInFlight)
        } else if heldItem, !agent.holdsItem {
            job.heldItems.trim(holding: job.itemsInFlight)
        }
    }

    /// Changes the job's status unless a newer event already did (events arrive out of order).
    @discardableResult
    private func setStatus(_ status: JobStatus, of job: JobRecord, at time: Double) -> Bool {
        guard time >= job.statusTime else { return false }
        job.status = status
        job.statusTime = time
        job.endTime = status.hasEnded ? time : nil
        return true
    }

    /// Keeps the job's estimate at every 1/128 of its planned items, made at the event's time, for
    /// calibrating its band (`ForecastRecord`).
    private func recordForecast(of job: JobRecord, at time: Double) {
        guard job.forecasts.isDue(finished: job.finished), let planned = job.planned, let remaining = job.remaining,
              remaining > 0, let estimate = CompletionEstimate.of(job, now: time, forecast: true) else { return }
        job.forecasts.add(.init(time: time, finished: job.finished, rate: estimate.rate), planned: planned)
    }

    /// Counts an item as finished once, however many final events it gets.
    private func finish(item: String?, of job: JobRecord, at time: Double) -> Bool {
        if let item, !job.finishedItemHashes.insert(StableHash.of(item)) { return false }
        job.finished += 1
        job.finishedWindow.add(at: time)
        job.lastFinishTime = max(job.lastFinishTime ?? time, time)
        return true
    }

    private func itemCompleted(_ event: Event, agentIndex: Int?, job: JobRecord, at time: Double) {
        job.completed += 1
        job.completedWindow.add(at: time)
        let item = event.item ?? agentIndex.flatMap { job.agents[$0].currentItem }
        let newlyFinished = finish(item: item, of: job, at: time)
        var duration = event.durationSeconds
        let completesAgent = event.completesAgent
        updateAgent(agentIndex, of: job) { agent in
            agent.completed += 1
            agent.completedAttempts.add(at: time)
            agent.consecutiveFailures = 0
            if newlyFinished { agent.finishedItems.add(at: time) }
            let ownItem = item == nil || item == agent.currentItem
            if duration == nil, let start = agent.itemStartTime, ownItem {
                duration = time - start
            }
            // The item is done: no progress or ETA of it is shown any more.
            if ownItem && time >= (agent.itemStartTime ?? time) { agent.clearItem() }
            agent.markProgress(at: time)
            // Finishing an item means the agent works (a retry succeeded); prodigy's agents end with theirs.
            agent.setState(completesAgent ? .completed : .running, at: time)
        }
        if let duration { job.observeDuration(duration) }
        if newlyFinished, let work = event.work { job.work.observe(work: work, seconds: duration) }
    }

    private func itemFailed(_ event: Event, agentIndex: Int?, job: JobRecord, at time: Double) {
        job.failed += 1
        job.failedWindow.add(at: time)
        let final = event.retryable == false
        let item = event.item ?? agentIndex.flatMap { job.agents[$0].currentItem }
        let newlyFinished = final && finish(item: item, of: job, at: time)
        job.failureLog.recordFailure(time: time, agent: event.agent, item: item, error: event.error, retryable: event.retryable)
        if newlyFinished, let work = event.work { job.work.observe(work: work, seconds: nil) }
        updateAgent(agentIndex, of: job) { agent in
            agent.failed += 1
            agent.failedAttempts.add(at: time)
            agent.consecutiveFailures &+= agent.consecutiveFailures == .max ? 0 : 1
            if newlyFinished { agent.finishedItems.add(at: time) }
            agent.markProgress(at: time)
            if final { agent.setState(.failed, at: time) }
        }
    }
}
