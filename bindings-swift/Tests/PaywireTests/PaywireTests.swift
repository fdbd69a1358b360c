// The Swift bindings against the core (run on a Mac after build-xcframework.sh: swift test).
import XCTest
@testable import Paywire

final class PaywireTests: XCTestCase {
    func testPricesAreExactAtomicUnits() throws {
        XCTAssertEqual(try parsePrice(price: "$0.01", decimals: 6), "10000")
        XCTAssertThrowsError(try parsePrice(price: "ten dollars", decimals: 6)) { error in
            guard case FfiError.Failed(let code, _, _) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(code, "amount_invalid")
        }
    }

    func testATokenVerifiesAndExpires() throws {
        let ring = try KeyRing(kid: "k1", secret: Data(repeating: 7, count: 32))
        let token = try ring.issue(claims: #"{"id":"t1","iss":"api","sub":"agent","scope":{"resource":"https://a.com/v1/","methods":["GET"]},"iat":100,"exp":200}"#)
        XCTAssertTrue(try ring.verifyPacked(request: "\(token)\u{1f}GET\u{1f}https://a.com/v1/x", now: 150, uses: 0).contains("agent"))
        XCTAssertThrowsError(try ring.verifyPacked(request: "\(token)\u{1f}GET\u{1f}https://a.com/v1/x", now: 250, uses: 0))
    }
}
