// The operations the benchmarks time, on one engine: bench.mjs runs them on both engines beside
// viem; ab.mjs on two builds of the repository, alternating (the previous build against this one).
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
const devRequire = createRequire(new URL("../../bindings-wasm/package.json", import.meta.url));
const { verifyTypedData } = devRequire("viem");

const vectors = JSON.parse(readFileSync(new URL("../../tests/vectors/evm_exact.json", import.meta.url), "utf8"));
const payment = vectors.cases.find((c) => c.op === "evm.verify" && c.expected && c.input.paymentPayload.x402Version === 2);
const { paymentPayload, requirements, now } = payment.input;

// The same EIP-3009 payload for viem: domain from the requirements, message from the payload.
const authorization = paymentPayload.payload.authorization;
const typed = {
  address: authorization.from,
  domain: {
    name: requirements.extra.name,
    version: requirements.extra.version,
    chainId: Number(requirements.network.split(":")[1]),
    verifyingContract: requirements.asset,
  },
  types: {
    TransferWithAuthorization: [
      { name: "from", type: "address" },
      { name: "to", type: "address" },
      { name: "value", type: "uint256" },
      { name: "validAfter", type: "uint256" },
      { name: "validBefore", type: "uint256" },
      { name: "nonce", type: "bytes32" },
    ],
  },
  primaryType: "TransferWithAuthorization",
  message: {
    from: authorization.from,
    to: authorization.to,
    value: BigInt(authorization.value),
    validAfter: BigInt(authorization.validAfter),
    validBefore: BigInt(authorization.validBefore),
    nonce: authorization.nonce,
  },
  signature: paymentPayload.payload.signature,
};
export { typed, verifyTypedData };
if (!(await verifyTypedData(typed))) throw new Error("viem does not accept the payload: the comparison would be unfair");

export const batch = (size, fn) => ({ size, fn: () => { for (let i = 0; i < size; i++) fn(); } });

/** The same operations on one engine (`engine` labels them). */
export function tasksOf(pw, engine) {
  if (pw.verifyEvmPayment(paymentPayload, requirements, now).payer !== authorization.from) throw new Error(`${engine} rejects the payload`);
  const ring = new pw.KeyRing("k1", new Uint8Array(32).fill(3));
  const token = ring.issue({ id: "tok_bench", iss: "api", sub: "agent", scope: { resource: "https://api.example.com/v1/", methods: ["GET"] }, iat: 1_000, exp: 2_000_000_000, maxUses: 100 });
  const policy = new pw.Policy({ maxPerRequest: "0.10", dailyLimit: "5.00", monthlyLimit: "50", allowedNetworks: ["eip155:8453"], velocity: { maxPayments: 60, windowSeconds: 60 } });
  const usage = new pw.Usage();
  policy.record(usage, "0.01", 1_700_000_000);
  const intent = { amount: "0.01", network: "eip155:8453", asset: "0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913", payTo: "0x209693Bc6afc0C5328bA36FaF03C514EF312287C", resource: "https://api.example.com/v1/weather" };
  const book = new pw.Pricebook({ rules: [{ method: "GET", path: "/v1/weather/:city", price: { flat: "10000" } }] });
  const header = pw.encodeHeader(paymentPayload);
  const required = { x402Version: 2, resource: { url: "https://api.example.com/v1/x" }, accepts: [requirements] };
  const devKey = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
  const nonce = new Uint8Array(32).fill(5);

  const tasks = {
    "verifyToken (KeyRing.verify)": batch(200, () => ring.verify(token, "GET", "https://api.example.com/v1/weather", 1_700_000_000, 0)),
    "issue token (KeyRing.issue)": batch(200, () => ring.issue({ id: "t", iss: "a", sub: "b", scope: { resource: "https://a/", methods: [] }, iat: 1, exp: 2, maxUses: null })),
    "policy evaluate": batch(200, () => policy.evaluate(intent, usage, 1_700_000_100)),
    "pricebook quote": batch(200, () => book.quote({ method: "GET", path: "/v1/weather/paris" })),
    "decode PAYMENT-SIGNATURE": batch(50, () => pw.decodePaymentPayload(header, undefined)),
    "EIP-3009 verify (verifyEvmPayment)": batch(5, () => pw.verifyEvmPayment(paymentPayload, requirements, now)),
    "EIP-3009 sign (signEvmPayment)": batch(5, () => pw.signEvmPayment(required, 0, devKey, nonce, now)),
  };
  return Object.fromEntries(Object.entries(tasks).map(([name, task]) => [`${engine}: ${name}`, task]));
}

