"""Work as jobs of procrastinate: polls and deliveries that any number of `storybot worker`
processes, on any machines, share through one PostgreSQL database.

    queue.py         the procrastinate App built from config, its tasks registered with their
                     queues, locks and retry strategies; where the queue database is
    tasks.py         the job bodies: a periodic tick defers due polls and deliveries, a poll
                     job runs the pipeline `storybot run` runs, a delivery job serves one channel,
                     a periodic sweep retries the jobs of dead workers
    due.py           which stories are due (pure)
    schema.py        reach the queue database (a clear error within seconds) and apply the
                     procrastinate schema once, whoever starts first
    worker.py        `storybot worker`: opens the bot, runs the procrastinate worker
    store_access.py  the one place the jobs meet the store's API (until bot/storage/ lands)
"""
