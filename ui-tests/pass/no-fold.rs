use isolate::isolated;

#[derive(Debug, PartialEq)]
pub struct Result {
    pub passed: bool,
}

#[isolated(no_fold)]
fn grade(score: u32) -> Result {
    Result { passed: score > 50 }
}

#[isolated(no_fold)]
fn keep_whole(n: u32) -> std::result::Result<u32, String> {
    Ok(n)
}

fn main() {
    assert_eq!(grade_isolated(80).join().unwrap(), Result { passed: true });
    let whole: std::result::Result<std::result::Result<u32, String>, isolate::IsolateError> =
        keep_whole_isolated(1).join();
    assert_eq!(whole.unwrap(), Ok(1));
}
