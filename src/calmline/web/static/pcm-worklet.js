// calmline: microphone audio to 16 kHz 16-bit PCM frames of 20 ms, posted to the page.
// Runs in the AudioWorklet; `sampleRate` is the context's rate (often 48 kHz).
const TARGET_RATE = 16000;
const FRAME = 320; // 20 ms at 16 kHz

class PcmFrames extends AudioWorkletProcessor {
  constructor() {
    super();
    this.step = sampleRate / TARGET_RATE; // input samples per output sample
    this.pos = 0; // position of the next output sample in the current input block
    this.acc = 0; // sum and count of input samples averaged into the next output sample
    this.count = 0;
    this.frame = new Int16Array(FRAME);
    this.filled = 0;
    this.muted = false;
    this.port.onmessage = (e) => { this.muted = !!e.data.muted; };
  }

  process(inputs) {
    const channel = inputs[0] && inputs[0][0];
    if (!channel) return true;
    // Box-filter decimation: average the input samples that fall in each output period,
    // which also keeps frequencies above 8 kHz from folding back into the speech band.
    for (let i = 0; i < channel.length; i++) {
      this.acc += this.muted ? 0 : channel[i];
      this.count += 1;
      this.pos += 1;
      if (this.pos >= this.step) {
        this.pos -= this.step;
        const v = Math.max(-1, Math.min(1, this.acc / this.count));
        this.frame[this.filled++] = v < 0 ? v * 32768 : v * 32767;
        this.acc = 0;
        this.count = 0;
        if (this.filled === FRAME) {
          this.port.postMessage(this.frame.buffer, [this.frame.buffer]);
          this.frame = new Int16Array(FRAME);
          this.filled = 0;
        }
      }
    }
    return true;
  }
}

registerProcessor("pcm-frames", PcmFrames);
