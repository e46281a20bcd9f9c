//! The storefront's own steps in a browser, on top of the house's WebDriver page.

use tix_tests::webdriver::Page;

pub(crate) trait Storefront {
    /// Signs up through the storefront's form and lands where it sends new users.
    async fn sign_up(&self, base: &str, email: &str);
}

impl Storefront for Page {
    async fn sign_up(&self, base: &str, email: &str) {
        self.goto(&format!("{base}/auth/signup")).await;
        self.fill("#email", email).await;
        self.fill("#password", "secret1").await;
        self.click("main button[type=submit]").await;
        self.wait_for_text("header", "Sign out").await;
    }
}
