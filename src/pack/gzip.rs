//! Parallel gzip whose bytes depend on the input alone. The tar stream is cut into blocks of
//! [`BLOCK`] bytes (a boundary fixed by the input, never by timing or the number of threads),
//! each block is deflated on its own by libdeflate, and the pieces are joined, in input order,
//! into ONE gzip member: every reader takes it, including those that stop after the first
//! member (Python's `tarfile` in stream mode, flate2's `GzDecoder`). So `--jobs 1` and
//! `--jobs 16` write the same archive, on any machine.
//!
//! libdeflate is about twice as fast as zlib at the same ratio but cannot flush mid-stream, so
//! each piece ends with a final block. Joining is gzjoin's technique (Mark Adler, zlib's
//! examples): zlib's inflate, stopping at block boundaries (`Z_BLOCK`), finds the piece's last
//! block; its BFINAL bit is cleared and an empty stored block appended, which ends the piece
//! on a byte boundary, unfinished. The check to find it costs about a tenth of the compression,
//! and runs on the same threads. A block starts without the previous block's 32 KiB window,
//! which costs under 1 % at 512 KiB blocks (tests/bench/pack.sh prints the size next to
//! `gzip -6`).

use libdeflater::{CompressionLvl, Compressor};
use std::collections::BTreeMap;
use std::io::{self, Write};
use std::sync::mpsc::{Receiver, SyncSender, channel, sync_channel};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

/// Input bytes per block (one piece of the deflate stream). Part of the archive format:
/// changing it changes every digest (a re-push then reports "same files, other compression").
/// 512 KiB keeps memory at about 1.7 MiB per job (a block in, its piece out, libdeflate's
/// state) for 0.01 % (mixed pack) to 0.9 % (2,000 YAML files) more bytes than 1 MiB blocks.
pub const BLOCK: usize = 512 << 10;
/// libdeflate's level 7: the lowest whose ratio matches `gzip -6` on text-heavy packs (level 6
/// is 9 % larger on 2,000 YAML files), at level 6's speed. Part of the format, like [`BLOCK`].
const LEVEL: i32 = 7;

/// A block on its way through a worker: the input, and the piece of deflate stream made of it.
struct Job {
    input: Vec<u8>,
    output: Vec<u8>,
    /// The stream's last block: its piece ends the stream.
    last: bool,
}

/// Names the compression (deflater, level, block size) where that matters beyond this module:
/// the re-push cache keeps one folder per format.
pub const FORMAT: &str = "libdeflate-7-512KiB";

/// The gzip header: no name, no time (0), no extra flags, OS unknown (255), as `gzip -n` on no
/// particular system.
const HEADER: [u8; 10] = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255];

/// The threads compressing blocks: whichever is free takes the next block (blocks differ in
/// cost, so a fixed turn would leave one idle), and results come back tagged with their place.
struct Pool {
    jobs: SyncSender<(usize, Job)>,
    done: Receiver<(usize, Job)>,
    threads: Vec<JoinHandle<()>>,
    /// Blocks compressed ahead of an older one still in a worker.
    early: BTreeMap<usize, Job>,
}

/// A `Write` that gzips what it is given into `dest` on `jobs` threads (inline for one).
pub struct GzWriter<W: Write> {
    /// Taken by [`GzWriter::finish`].
    dest: Option<W>,
    block: Vec<u8>,
    /// Blocks handed to workers, and blocks written to `dest`: the difference is in flight.
    sent: usize,
    written: usize,
    pool: Option<Pool>,
    /// Buffers of blocks already written, to reuse.
    spare: Vec<Job>,
    inline: Option<Compressor>,
    /// The gzip trailer's CRC-32 and length of everything given.
    crc: flate2::Crc,
}

impl<W: Write> GzWriter<W> {
    pub fn new(dest: W, jobs: usize) -> Self {
        let pool = (jobs > 1).then(|| spawn(jobs));
        Self {
            dest: Some(dest),
            block: Vec::with_capacity(BLOCK),
            sent: 0,
            written: 0,
            inline: pool.is_none().then(compressor),
            pool,
            spare: Vec::new(),
            crc: flate2::Crc::new(),
        }
    }

    /// Compresses what is left, writes the rest of the stream and returns `dest`.
    pub fn finish(mut self) -> io::Result<W> {
        // The last block may be empty (an input of whole blocks, or none): its piece is then
        // an empty final block, so the end never depends on more than the input's length.
        self.dispatch(true)?;
        while self.written < self.sent {
            self.write_oldest()?;
        }
        let trailer = [self.crc.sum(), self.crc.amount()];
        let dest = self.dest();
        for word in trailer {
            dest.write_all(&word.to_le_bytes())?;
        }
        dest.flush()?;
        Ok(self.dest.take().expect("finish runs once"))
    }

    fn dest(&mut self) -> &mut W {
        self.dest.as_mut().expect("finish runs once")
    }

    /// Sends the full (or `last`) block to be compressed, or compresses it here.
    fn dispatch(&mut self, last: bool) -> io::Result<()> {
        let mut job = self.spare.pop().unwrap_or_else(|| Job {
            input: Vec::with_capacity(BLOCK),
            output: Vec::new(),
            last,
        });
        job.last = last;
        std::mem::swap(&mut job.input, &mut self.block);
        self.block.clear();
        self.crc.update(&job.input);
        if self.sent == 0 {
            self.dest().write_all(&HEADER)?;
        }
        if let Some(compressor) = &mut self.inline {
            compress(compressor, &mut job)?;
            let dest = self.dest.as_mut().expect("finish runs once");
            dest.write_all(&job.output)?;
            self.spare.push(job);
            self.sent += 1;
            self.written += 1;
            return Ok(());
        }
        // Three blocks more than workers in flight: a worker that finishes finds the next
        // block waiting even while the oldest is being written (one in flight per worker made
        // the mixed pack 9 % slower), and memory stays at about 1.7 MiB per job.
        let workers = self.pool.as_ref().map_or(1, |p| p.threads.len());
        if self.sent - self.written > workers + 2 {
            self.write_oldest()?;
        }
        let pool = self.pool.as_ref().expect("threads when not inline");
        pool.jobs
            .send((self.sent, job))
            .map_err(|_| worker_died())?;
        self.sent += 1;
        Ok(())
    }

    /// Waits for the oldest block in flight and writes its member.
    fn write_oldest(&mut self) -> io::Result<()> {
        let pool = self.pool.as_mut().expect("threads when not inline");
        let job = loop {
            if let Some(job) = pool.early.remove(&self.written) {
                break job;
            }
            let (place, job) = pool.done.recv().map_err(|_| worker_died())?;
            pool.early.insert(place, job);
        };
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
            self.dispatch(false)?;
        }
        Ok(n)
    }

    /// Pieces are written whole, as blocks fill: a partial block cannot be flushed without
    /// changing where pieces end, so this flushes only `dest`.
    fn flush(&mut self) -> io::Result<()> {
        self.dest().flush()
    }
}

impl<W: Write> Drop for GzWriter<W> {
    fn drop(&mut self) {
        // Closing the channels ends each worker's loop; joining keeps no thread behind.
        if let Some(pool) = self.pool.take() {
            drop(pool.jobs);
            drop(pool.done);
            for thread in pool.threads {
                let _ = thread.join();
            }
        }
    }
}

fn compressor() -> Compressor {
    Compressor::new(CompressionLvl::new(LEVEL).expect("a level libdeflate has"))
}

fn compress(compressor: &mut Compressor, job: &mut Job) -> io::Result<()> {
    job.output
        .resize(compressor.deflate_compress_bound(job.input.len()) + 5, 0);
    let n = compressor
        .deflate_compress(&job.input, &mut job.output)
        .map_err(|e| io::Error::other(format!("deflate: {e:?}")))?;
    job.output.truncate(n);
    if !job.last {
        unfinish(&mut job.output)?;
    }
    Ok(())
}

/// Makes the complete raw deflate stream `piece` an unfinished one that ends on a byte
/// boundary, so the next piece can follow it: the last block's BFINAL bit is cleared and an
/// empty stored block appended (gzjoin's technique).
fn unfinish(piece: &mut Vec<u8>) -> io::Result<()> {
    let broken = |what: &str| io::Error::other(format!("joining compressed blocks: {what}"));
    let mut stream = libz_sys::z_stream {
        next_in: piece.as_mut_ptr(),
        avail_in: u32::try_from(piece.len()).map_err(|_| broken("piece too large"))?,
        total_in: 0,
        next_out: std::ptr::null_mut(),
        avail_out: 0,
        total_out: 0,
        msg: std::ptr::null_mut(),
        state: std::ptr::null_mut(),
        zalloc,
        zfree,
        opaque: std::ptr::null_mut(),
        data_type: 0,
        adler: 0,
        reserved: 0,
    };
    let mut scratch = [0u8; 32 << 10];
    // The first block's header is the piece's first bit.
    let mut final_bit = (piece[0] & 1 == 1).then_some((0, 1u8));
    let size = std::mem::size_of::<libz_sys::z_stream>() as i32;
    // SAFETY: `stream` points into `piece` and `scratch`, which outlive it, and inflateEnd
    // runs on every path once inflateInit2 succeeded. `piece` is not written until then.
    let end = unsafe {
        if libz_sys::inflateInit2_(&mut stream, -15, libz_sys::zlibVersion(), size)
            != libz_sys::Z_OK
        {
            return Err(broken("zlib would not start"));
        }
        let end = loop {
            stream.next_out = scratch.as_mut_ptr();
            stream.avail_out = scratch.len() as u32;
            if libz_sys::inflate(&mut stream, libz_sys::Z_BLOCK) != libz_sys::Z_OK {
                break None;
            }
            // 128: stopped at a block boundary; 64: the block just decoded was the last;
            // the low 3 bits: how many bits of the last byte read are not used yet.
            if stream.data_type & 128 == 0 {
                continue;
            }
            let read = piece.len() - stream.avail_in as usize;
            let unused = (stream.data_type & 7) as u32;
            if stream.data_type & 64 != 0 {
                break Some((read, unused));
            }
            // The next block's header starts at the first unused bit.
            let (byte, mask) = match unused {
                0 => (read, 1),
                n => (read - 1, (0x100u32 >> n) as u8),
            };
            if piece.get(byte).is_some_and(|b| b & mask != 0) {
                final_bit = Some((byte, mask));
            }
        };
        libz_sys::inflateEnd(&mut stream);
        end
    };
    let (read, unused) = end.ok_or_else(|| broken("libdeflate's output did not inflate"))?;
    let (byte, mask) = final_bit.ok_or_else(|| broken("no final block"))?;
    if read != piece.len() {
        return Err(broken("bytes after the final block"));
    }
    piece[byte] &= !mask;
    // The stored block's 3 header bits go in the last byte's unused bits when there are three;
    // the rest of that byte (or of one more) pads to the boundary; then LEN 0, NLEN 0xffff.
    let last = piece.len() - 1;
    piece[last] &= ((0x100u32 >> unused) - 1) as u8;
    if unused < 3 {
        piece.push(0);
    }
    piece.extend_from_slice(&[0, 0, 0xff, 0xff]);
    Ok(())
}

extern "C" fn zalloc(
    _: libz_sys::voidpf,
    items: libz_sys::uInt,
    size: libz_sys::uInt,
) -> libz_sys::voidpf {
    // SAFETY: calloc with sizes zlib asks for; zlib checks for null.
    unsafe { libc::calloc(items as usize, size as usize) }
}

extern "C" fn zfree(_: libz_sys::voidpf, address: libz_sys::voidpf) {
    // SAFETY: `address` came from `zalloc`.
    unsafe { libc::free(address) }
}

fn spawn(threads: usize) -> Pool {
    let (jobs, inbox) = sync_channel::<(usize, Job)>(threads);
    let inbox = Arc::new(Mutex::new(inbox));
    // Unbounded, but never holds more than the blocks in flight.
    let (outbox, done) = channel::<(usize, Job)>();
    let threads = (0..threads)
        .map(|_| {
            let (inbox, outbox) = (Arc::clone(&inbox), outbox.clone());
            std::thread::spawn(move || {
                let mut compressor = compressor();
                loop {
                    let next = inbox.lock().map(|inbox| inbox.recv());
                    let Ok(Ok((place, mut job))) = next else {
                        return;
                    };
                    if compress(&mut compressor, &mut job).is_err() {
                        job.output.clear();
                    }
                    if outbox.send((place, job)).is_err() {
                        return;
                    }
                }
            })
        })
        .collect();
    Pool {
        jobs,
        done,
        threads,
        early: BTreeMap::new(),
    }
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

    fn inflate_one_member(gz: &[u8]) -> Vec<u8> {
        let mut back = Vec::new();
        flate2::read::GzDecoder::new(gz)
            .read_to_end(&mut back)
            .unwrap();
        back
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
        // One member (a decoder that stops after the first reads it all), with every block.
        assert!(
            inflate_one_member(&one) == data,
            "the stream does not inflate to the input"
        );
        let exact = gzip(&data[..2 * BLOCK], 2, 1 << 16);
        assert!(inflate_one_member(&exact) == data[..2 * BLOCK]);
    }

    #[test]
    fn nothing_gzips_to_an_empty_member() {
        let empty = gzip(&[], 2, 1);
        assert!(inflate_one_member(&empty).is_empty() && empty.len() >= 18);
    }

    #[test]
    fn every_way_a_piece_can_end_is_joined() {
        // Lengths whose pieces end with 0 to 7 unused bits, over many inputs.
        let data = input();
        let mut seen = [false; 8];
        for len in (1..400).map(|i| i * 97) {
            let mut compressor = compressor();
            let mut job = Job {
                input: data[..len].to_vec(),
                output: Vec::new(),
                last: true,
            };
            compress(&mut compressor, &mut job).unwrap();
            let complete = job.output.clone();
            job.last = false;
            compress(&mut compressor, &mut job).unwrap();
            seen[(job.output.len() - complete.len()) % 8] = true;
            // The unfinished piece, then an empty final block (fixed Huffman: 0b011, EOB).
            job.output.extend_from_slice(&[3, 0]);
            let mut back = Vec::new();
            flate2::read::DeflateDecoder::new(&job.output[..])
                .read_to_end(&mut back)
                .unwrap();
            assert!(back == data[..len], "length {len}");
        }
        assert!(
            seen[4] && seen[5],
            "both stored-block forms were made: {seen:?}"
        );
    }
}
