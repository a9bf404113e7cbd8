//! Parallel gzip whose bytes depend on the input alone. The tar stream is cut into blocks of
//! [`BLOCK`] bytes (a boundary fixed by the input, never by timing or the number of threads),
//! each block is compressed on its own by libdeflate into a complete gzip member, and the members
//! are written in input order. So `--jobs 1` and `--jobs 16` write the same archive, on any
//! machine.
//!
//! Why members, not one: libdeflate, about twice as fast as zlib at the same ratio, cannot
//! flush mid-stream or be primed with a dictionary, so blocks it compresses cannot be joined
//! into one deflate stream. Concatenated members are plain RFC 1952 (§2.2): Go's
//! `compress/gzip` (what Palette reads with), GNU tar, Python's `tarfile` and `gzip`, flate2's
//! `MultiGzDecoder` (packpub's own reader) read them as one stream; tests/readers.rs proves it.
//! Each block loses the previous block's 32 KiB window, which costs well under 0.1 % on real
//! packs at 1 MiB blocks (tests/bench/pack.sh prints the size next to `gzip -6`).

use libdeflater::{CompressionLvl, Compressor};
use std::io::{self, Write};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread::JoinHandle;

/// Input bytes per gzip member. Part of the archive format: changing it changes every
/// archive's digest (a re-push then reports "same files, other compression").
pub const BLOCK: usize = 1 << 20;
/// libdeflate's level 7: the lowest whose ratio matches `gzip -6` on text-heavy packs (level 6
/// is 9 % larger on 2,000 YAML files), at level 6's speed. Part of the format, like [`BLOCK`].
const LEVEL: i32 = 7;

/// A block on its way through a worker: the input, and the member compressed from it.
struct Job {
    input: Vec<u8>,
    output: Vec<u8>,
}

struct Worker {
    jobs: SyncSender<Job>,
    done: Receiver<Job>,
    thread: JoinHandle<()>,
}

/// A `Write` that gzips what it is given into `dest` on `jobs` threads (inline for one).
pub struct GzWriter<W: Write> {
    /// Taken by [`GzWriter::finish`].
    dest: Option<W>,
    block: Vec<u8>,
    /// Blocks handed to workers, and blocks written to `dest`: the difference is in flight.
    sent: usize,
    written: usize,
    workers: Vec<Worker>,
    /// Buffers of blocks already written, to reuse.
    spare: Vec<Job>,
    inline: Option<Compressor>,
}

impl<W: Write> GzWriter<W> {
    pub fn new(dest: W, jobs: usize) -> Self {
        let workers = if jobs > 1 {
            (0..jobs).map(|_| spawn()).collect()
        } else {
            Vec::new()
        };
        Self {
            dest: Some(dest),
            block: Vec::with_capacity(BLOCK),
            sent: 0,
            written: 0,
            inline: workers.is_empty().then(compressor),
            workers,
            spare: Vec::new(),
        }
    }

    /// Compresses what is left, writes every member and returns `dest`.
    pub fn finish(mut self) -> io::Result<W> {
        // An empty input still makes one (empty) member: a valid gzip file.
        if !self.block.is_empty() || self.sent == 0 {
            self.dispatch()?;
        }
        while self.written < self.sent {
            self.write_oldest()?;
        }
        self.dest().flush()?;
        Ok(self.dest.take().expect("finish runs once"))
    }

    fn dest(&mut self) -> &mut W {
        self.dest.as_mut().expect("finish runs once")
    }

    /// Sends the full (or last) block to be compressed, or compresses it here.
    fn dispatch(&mut self) -> io::Result<()> {
        let mut job = self.spare.pop().unwrap_or_else(|| Job {
            input: Vec::with_capacity(BLOCK),
            output: Vec::new(),
        });
        std::mem::swap(&mut job.input, &mut self.block);
        self.block.clear();
        if let Some(compressor) = &mut self.inline {
            compress(compressor, &mut job)?;
            let dest = self.dest.as_mut().expect("finish runs once");
            dest.write_all(&job.output)?;
            self.spare.push(job);
            self.sent += 1;
            self.written += 1;
            return Ok(());
        }
        // One block more than workers in flight: each worker has the next block waiting when
        // it finishes one, and memory stays at about two blocks per job.
        if self.sent - self.written > self.workers.len() {
            self.write_oldest()?;
        }
        let worker = &self.workers[self.sent % self.workers.len()];
        worker.jobs.send(job).map_err(|_| worker_died())?;
        self.sent += 1;
        Ok(())
    }

    /// Waits for the oldest block in flight and writes its member.
    fn write_oldest(&mut self) -> io::Result<()> {
        let worker = &self.workers[self.written % self.workers.len()];
        let job = worker.done.recv().map_err(|_| worker_died())?;
        if job.output.is_empty() {
            return Err(worker_died());
        }
        self.dest().write_all(&job.output)?;
        self.written += 1;
        self.spare.push(job);
        Ok(())
    }
}

impl<W: Write> Write for GzWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = buf.len().min(BLOCK - self.block.len());
        self.block.extend_from_slice(&buf[..n]);
        if self.block.len() == BLOCK {
            self.dispatch()?;
        }
        Ok(n)
    }

    /// Members are written whole, as blocks fill: a partial block cannot be flushed without
    /// changing where members end, so this flushes only `dest`.
    fn flush(&mut self) -> io::Result<()> {
        self.dest().flush()
    }
}

impl<W: Write> Drop for GzWriter<W> {
    fn drop(&mut self) {
        // Closing the channels ends each worker's loop; joining keeps no thread behind.
        for worker in self.workers.drain(..) {
            drop(worker.jobs);
            drop(worker.done);
            let _ = worker.thread.join();
        }
    }
}

fn compressor() -> Compressor {
    Compressor::new(CompressionLvl::new(LEVEL).expect("a level libdeflate has"))
}

fn compress(compressor: &mut Compressor, job: &mut Job) -> io::Result<()> {
    job.output
        .resize(compressor.gzip_compress_bound(job.input.len()), 0);
    let n = compressor
        .gzip_compress(&job.input, &mut job.output)
        .map_err(|e| io::Error::other(format!("gzip: {e:?}")))?;
    job.output.truncate(n);
    Ok(())
}

fn spawn() -> Worker {
    let (jobs, inbox) = sync_channel::<Job>(1);
    let (outbox, done) = sync_channel::<Job>(1);
    let thread = std::thread::spawn(move || {
        let mut compressor = compressor();
        for mut job in inbox {
            if compress(&mut compressor, &mut job).is_err() {
                job.output.clear();
            }
            if outbox.send(job).is_err() {
                return;
            }
        }
    });
    Worker { jobs, done, thread }
}

fn worker_died() -> io::Error {
    io::Error::other("a compression thread failed")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    /// Input that compresses unevenly: text, then noise, then text again, over several blocks.
    fn input() -> Vec<u8> {
        let mut data = Vec::new();
        let mut x: u32 = 1;
        for i in 0..(3 * BLOCK + 12_345) {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            data.push(if (i / 100_000) % 3 == 1 {
                (x >> 16) as u8
            } else {
                b"apiVersion: v1\nkind: ConfigMap\n"[i % 31]
            });
        }
        data
    }

    fn gzip(data: &[u8], jobs: usize, piece: usize) -> Vec<u8> {
        let mut gz = GzWriter::new(Vec::new(), jobs);
        for chunk in data.chunks(piece) {
            gz.write_all(chunk).unwrap();
        }
        gz.finish().unwrap()
    }

    #[test]
    fn any_number_of_jobs_and_any_write_sizes_give_the_same_bytes() {
        let data = input();
        let one = gzip(&data, 1, 1 << 16);
        for (jobs, piece) in [(2, 1), (3, 4096), (16, 1 << 20), (1, 7)] {
            if piece == 1 {
                // Byte by byte over 3 MiB is slow unoptimised; a prefix proves the point.
                let prefix = &data[..BLOCK + 10];
                assert_eq!(gzip(prefix, jobs, piece), gzip(prefix, 1, 1 << 16));
                continue;
            }
            assert_eq!(
                gzip(&data, jobs, piece),
                one,
                "jobs {jobs}, writes of {piece}"
            );
        }
        let mut back = Vec::new();
        flate2::read::MultiGzDecoder::new(&one[..])
            .read_to_end(&mut back)
            .unwrap();
        assert!(back == data, "the members do not inflate to the input");
        // One member per started block.
        let members = one.windows(4).filter(|w| *w == [0x1f, 0x8b, 8, 0]).count();
        assert!(members >= 4, "{members} members");
    }

    #[test]
    fn nothing_gzips_to_one_empty_member() {
        let empty = gzip(&[], 2, 1);
        let mut back = Vec::new();
        flate2::read::MultiGzDecoder::new(&empty[..])
            .read_to_end(&mut back)
            .unwrap();
        assert!(back.is_empty() && empty.len() >= 18);
    }
}
