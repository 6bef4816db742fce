//! Property test: for thousands of generated signatures (argument patterns,
//! generics with bounds, bound-only and unmentioned type parameters,
//! lifetimes, `impl Trait` (also behind `&` and inside `Result` aliases),
//! receivers (typed and borrowed ones too), `#[cfg]`'d parameters, inner
//! attributes in the body, `async`, attributes, return types, options,
//! `impl` blocks (generic, borrowing) and the method-level attribute alone),
//! the macro never panics: it emits tokens that parse as items, and as the
//! items of an `impl` block where it could stand in one, with a spanned
//! `compile_error!` where the input breaks a rule.

use std::panic::{catch_unwind, AssertUnwindSafe};

use proc_macro2::TokenStream;

use crate::expand;

/// xorshift64*: seedable, so a failing case can be replayed.
struct Rng(u64);

impl Rng {
    fn pick<'a>(&mut self, choices: &[&'a str]) -> &'a str {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        let n = self.0.wrapping_mul(0x2545_F491_4F6C_DD1D);
        choices[(n % choices.len() as u64) as usize]
    }
}

const OPTIONS: &[&str] = &[
    "",
    "",
    "name = \"job\"",
    "dedicated",
    "stack_size = 1 << 20",
    "wrapper = run_it",
    "no_fold",
    "crate = ::isolate",
    "name = 5",
    "threads = 4",
    "name = \"a\", name = \"b\"",
    "dedicated,",
    ",",
    "name",
    "wrapper = f",
    "name = \"\"",
    "stack_size",
    "crate = ",
    "dedicated dedicated",
    "dedicated = true",
    "no_fold = false, name = \"job\"",
    "crate = \"isolate\"",
    "crate = \"not a path\"",
    "stack_size = \"1MiB\"",
    "stack_size = \"1 parsec\"",
    "wrapper = \"run_it\"",
    "wrapper = \"not an ident\"",
    "fold",
    "fold, no_fold",
];
const ATTRS: &[&str] = &[
    "",
    "",
    "#[inline]",
    "#[cfg(test)]",
    "/// Docs.",
    "#[allow(unused)]",
    "#[deprecated]",
    "#[cfg_attr(test, inline)]",
];
const VIS: &[&str] = &["", "pub", "pub(crate)", "pub(super)"];
const QUALIFIERS: &[&str] = &[
    "",
    "",
    "",
    "async",
    "const",
    "unsafe",
    "extern \"C\"",
    "async unsafe",
];
const GENERICS: &[&str] = &[
    "",
    "",
    "<T>",
    "<T: Clone + Send>",
    "<'a>",
    "<T, const N: usize>",
    "<I: IntoIterator<Item = u8>>",
    "<'a, T: 'a>",
    "<F: FnOnce() -> u8>",
    "<K: Ord, F: FnMut(&u32) -> K + Send + 'static>",
    "<T, U: Default>",
    "<W: std::io::Write>",
];
const RECEIVERS: &[&str] = &[
    "",
    "",
    "",
    "self",
    "mut self",
    "&self",
    "&mut self",
    "self: Box<Self>",
    "self: Arc<Self>",
    "&'a self",
    "self: &Self",
    "self: Pin<&mut Self>",
    "#[cfg(test)] self",
];
const ARGS: &[&str] = &[
    "x: u32",
    "mut y: String",
    "(a, b): (u8, u8)",
    "_: Vec<u8>",
    "s: &str",
    "r: &'a mut T",
    "f: impl Fn(u8) -> u8",
    "p: Rc<u8>",
    "arr: [u8; N]",
    "Point { x, y }: Point",
    "t: T",
    "c: Cow<'a, str>",
    "cb: fn(&str) -> usize",
    "d: Box<dyn Fn() + Send>",
    "s: &'static str",
    "g: MutexGuard<'static, u8>",
    "it: impl Iterator<Item = &'a u8>",
    "ref z: u8",
    "w @ 1..=3: u8",
    "o: Option<&'static [u8]>",
    "tuple: (T, &'a str)",
    "#[cfg(unix)] c: u8",
    "#[cfg_attr(test, allow(unused))] d: u8",
    "p: &impl Fn(u8) -> bool",
    "out: &mut W",
    "ctx: Context<'_, S>",
    "chars: std::str::Chars",
    "k: Slab<T>",
    "o: Option<impl Iterator<Item = u32>>",
];
const RETURNS: &[&str] = &[
    "",
    "-> u32",
    "-> Result<u32, E>",
    "-> io::Result<T>",
    "-> fmt::Result",
    "-> impl Display",
    "-> !",
    "-> &'static str",
    "-> &str",
    "-> Self",
    "-> Result<impl Display, String>",
    "-> ()",
    "-> std::result::Result<T, T::Err>",
    "-> anyhow::Result<()>",
    "-> Cow<'a, str>",
    "-> Box<dyn Error + Send + Sync>",
    "-> Result",
    "-> Result<u8>",
    "-> (u8, &'a str)",
    "-> std::io::Result<impl Iterator<Item = u32> + Send>",
    "-> io::Result<(impl Display, u8)>",
    "-> Option<impl Display>",
    "-> Wrapper<T>",
];
const BODIES: &[&str] = &[
    "{ loop {} }",
    "{ loop {} }",
    "{ #![allow(unused)] loop {} }",
    "{ Self::helper() }",
    "{ let _ = Self; loop {} }",
    "{ #![cfg_attr(test, allow(unused))] loop {} }",
];
const WHERE: &[&str] = &[
    "",
    "",
    "where T: Default",
    "where Self: Sized",
    "where for<'b> F: Fn(&'b str)",
];

fn signature(rng: &mut Rng) -> String {
    let receiver = rng.pick(RECEIVERS);
    let mut args: Vec<&str> = Vec::new();
    if !receiver.is_empty() {
        args.push(receiver);
    }
    for _ in 0..(rng
        .pick(&["0", "1", "2", "3"])
        .parse::<usize>()
        .unwrap_or(0))
    {
        args.push(rng.pick(ARGS));
    }
    format!(
        "{} {} {} fn work{}({}) {} {} {}",
        rng.pick(ATTRS),
        rng.pick(VIS),
        rng.pick(QUALIFIERS),
        rng.pick(GENERICS),
        args.join(", "),
        rng.pick(RETURNS),
        rng.pick(WHERE),
        rng.pick(BODIES),
    )
}

fn item(rng: &mut Rng) -> (String, String, bool) {
    let options = rng.pick(OPTIONS).to_owned();
    let item = match rng.pick(&[
        "fn",
        "fn",
        "fn",
        "method",
        "impl",
        "trait impl",
        "trait",
        "struct",
        "body-less",
    ]) {
        "impl" => format!(
            "impl{} Worker{} {{ #[isolated({})] {} fn other(&self) {{}} }}",
            rng.pick(&["", "<T: Send>", "<'a>", "<'a, T>"]),
            rng.pick(&["", "<T>", "<'a>", "<'_>", "<'a, T>"]),
            rng.pick(OPTIONS),
            signature(rng),
        ),
        // The method-level attribute alone, in a generic impl: the macro
        // sees only the function.
        "method" => return (options, signature(rng), true),
        "trait impl" => format!("impl Job for Worker {{ #[isolated] {} }}", signature(rng)),
        "trait" => format!("trait Job {{ {} }}", signature(rng)),
        "struct" => "struct Worker { id: u32 }".to_owned(),
        "body-less" => format!("fn work({}) -> u8;", rng.pick(ARGS)),
        _ => signature(rng),
    };
    (options, item, false)
}

#[test]
fn the_macro_never_panics_and_always_emits_items() {
    let seed = std::env::var("ISOLATE_MACRO_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5EED_1234_u64);
    let cases: usize = std::env::var("ISOLATE_MACRO_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5_000);
    let mut rng = Rng(seed);
    let mut rejected = 0;
    for case in 0..cases {
        let (options, item, in_impl) = item(&mut rng);
        // Inputs that are not even tokens (an unbalanced option) are not
        // what the compiler would hand the macro; skip them.
        let (Ok(args), Ok(input)) = (options.parse::<TokenStream>(), item.parse::<TokenStream>())
        else {
            continue;
        };
        let output = catch_unwind(AssertUnwindSafe(|| expand::isolated(args, input)))
            .unwrap_or_else(|_| panic!("case {case} (seed {seed}): the macro panicked on #[isolated({options})] {item}"));
        let file: syn::File = syn::parse2(output.clone()).unwrap_or_else(|e| {
            panic!("case {case} (seed {seed}): output does not parse ({e}) for #[isolated({options})] {item}:\n{output}")
        });
        if in_impl {
            // What a method-level attribute emits must stand in an `impl`
            // block too: no inner attribute or item that only a module takes.
            let block = quote::quote!(impl<T> Worker<T> { #output });
            if let Err(e) = syn::parse2::<syn::ItemImpl>(block) {
                panic!("case {case} (seed {seed}): output is not impl items ({e}) for #[isolated({options})] {item}:\n{output}");
            }
        }
        if output.to_string().contains("compile_error") {
            rejected += 1;
        }
        assert!(
            !file.items.is_empty(),
            "case {case}: no item emitted for {item}"
        );
    }
    // The generator reaches both sides of the rules.
    assert!(
        rejected > cases / 10 && rejected < cases,
        "{rejected} of {cases} rejected"
    );
}
