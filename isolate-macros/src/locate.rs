//! Where a function under the method-level attribute alone stands, read from
//! its source file.
//!
//! An attribute sees only its item. For an associated function that names
//! neither `self`, `Self` nor a parameter of its `impl` block
//! (`fn new() -> Parser`), nothing in the tokens tells it from a free
//! function, and the sibling must call it as `Self::new` in one place and
//! `new` in the other. The compiler knows which file and line the function's
//! name was written on, so the attribute reads that file and looks for the
//! `#[isolated]` functions of that name in it. When the file cannot be read
//! or parsed, or the answer is not unique (two such functions of the same
//! name, one free and one associated), it answers nothing and the tokens
//! decide, as they did before.

use std::cell::RefCell;
use std::collections::HashMap;
use std::path::PathBuf;
use std::rc::Rc;
use std::time::SystemTime;

use quote::ToTokens;
use syn::visit::Visit;
use syn::{Block, ImplItem, ItemFn, ItemImpl, Signature, TraitItemFn};

/// The kind of item list a function under `#[isolated]` was written in.
#[derive(Clone, PartialEq, Eq, Debug)]
pub(crate) enum Place {
    /// A module or a block: a free function.
    Free,
    /// An inherent `impl` block: an associated function. With the names of
    /// the block's parameters (`'a`, `T`, `N`), so that only the types naming
    /// one of them get a bound checked at the call, and a block without any
    /// has its bounds checked at the definition.
    InherentImpl(Rc<[String]>),
    /// A trait's `impl` block, where a sibling cannot be added.
    TraitImpl,
    /// A trait definition: a provided method.
    Trait,
}

/// Where the function stands, when its source file says so unambiguously;
/// `None` outside a procedural macro (the crate's own tests), for tokens
/// without a file (made by another macro), or when unsure.
///
/// The function is recognised by its signature and body, printed as
/// tokens; failing that (a `cfg_attr` that changed it), by its name, when
/// every `#[isolated]` function of that name in the file stands in the same
/// kind of place.
pub(crate) fn place_of(sig: &Signature, block: Option<&Block>) -> Option<Place> {
    if !proc_macro::is_available() {
        return None;
    }
    let path = sig.ident.span().unwrap().local_file()?;
    let found = found_in(path)?;
    let fingerprint = fingerprint(sig, block);
    let same = |mut places: Vec<&Place>| {
        let first = places.pop()?;
        let agree = places.iter().all(|place| same_kind(place, first));
        agree.then(|| merged(&places, first))
    };
    let by_fingerprint: Vec<&Place> = found
        .iter()
        .filter(|f| f.fingerprint == fingerprint)
        .map(|f| &f.place)
        .collect();
    if !by_fingerprint.is_empty() {
        return same(by_fingerprint);
    }
    let name = sig.ident.to_string();
    same(
        found
            .iter()
            .filter(|f| f.name == name)
            .map(|f| &f.place)
            .collect(),
    )
}

fn same_kind(a: &Place, b: &Place) -> bool {
    std::mem::discriminant(a) == std::mem::discriminant(b)
}

/// One place for several of the same kind: the `impl` blocks' type
/// parameters together, so that no bound is left out.
fn merged(others: &[&Place], first: &Place) -> Place {
    match first {
        Place::InherentImpl(params) => {
            let mut all: Vec<String> = params.to_vec();
            for place in others {
                if let Place::InherentImpl(more) = place {
                    all.extend(
                        more.iter()
                            .filter(|p| !all.contains(p))
                            .cloned()
                            .collect::<Vec<_>>(),
                    );
                }
            }
            Place::InherentImpl(all.into())
        }
        other => other.clone(),
    }
}

fn fingerprint(sig: &Signature, block: Option<&Block>) -> String {
    let mut text = sig.to_token_stream().to_string();
    if let Some(block) = block {
        text.push_str(&block.to_token_stream().to_string());
    }
    text
}

/// An `#[isolated]` function of the file.
struct Found {
    name: String,
    fingerprint: String,
    place: Place,
}

/// Every `#[isolated]` function of a file.
type Places = Rc<Vec<Found>>;

/// A parsed file, with the length and modification time it was read at.
struct Parsed {
    len: u64,
    modified: Option<SystemTime>,
    places: Places,
}

thread_local! {
    /// Parsed files, so that a file with many attributes is read once per
    /// compilation. Keyed by path, and checked against the file's length and
    /// modification time, since a long-lived macro server (an IDE's) sees
    /// the file change.
    static PARSED: RefCell<HashMap<PathBuf, Parsed>> =
        RefCell::new(HashMap::new());
}

fn found_in(path: PathBuf) -> Option<Places> {
    let metadata = std::fs::metadata(&path).ok()?;
    let (len, modified) = (metadata.len(), metadata.modified().ok());
    let cached = PARSED.with(|parsed| {
        parsed
            .borrow()
            .get(&path)
            .filter(|parsed| parsed.len == len && parsed.modified == modified)
            .map(|parsed| Rc::clone(&parsed.places))
    });
    if cached.is_some() {
        return cached;
    }
    let source = std::fs::read_to_string(&path).ok()?;
    let file = syn::parse_file(&source).ok()?;
    let mut collector = Collector::for_file(&file);
    collector.visit_file(&file);
    let places = Rc::new(collector.places);
    PARSED.with(|parsed| {
        parsed.borrow_mut().insert(
            path,
            Parsed {
                len,
                modified,
                places: Rc::clone(&places),
            },
        )
    });
    Some(places)
}

struct Collector {
    places: Vec<Found>,
    /// The names the attribute goes by in the file: `isolated`, and any
    /// name a `use` gives it (`use isolate::isolated as offload;`), under
    /// which its functions were missed, and an associated function's
    /// sibling called a free function of the same name.
    names: Vec<String>,
}

impl Collector {
    fn for_file(file: &syn::File) -> Self {
        struct Renames(Vec<String>);
        impl<'ast> Visit<'ast> for Renames {
            fn visit_use_rename(&mut self, rename: &'ast syn::UseRename) {
                if rename.ident == "isolated" {
                    self.0.push(rename.rename.to_string());
                }
            }
        }
        let mut renames = Renames(vec!["isolated".to_owned()]);
        renames.visit_file(file);
        Collector {
            places: Vec::new(),
            names: renames.0,
        }
    }

    /// Whether `attr` is the attribute, under any of its names here.
    fn is_attribute(&self, attr: &syn::Attribute) -> bool {
        attr.path()
            .segments
            .last()
            .is_some_and(|segment| self.names.iter().any(|name| segment.ident == name))
    }

    fn note(
        &mut self,
        attrs: &[syn::Attribute],
        sig: &Signature,
        block: Option<&Block>,
        place: &Place,
    ) {
        if attrs.iter().any(|attr| self.is_attribute(attr)) {
            self.places.push(Found {
                name: sig.ident.to_string(),
                fingerprint: fingerprint(sig, block),
                place: place.clone(),
            });
        }
    }
}

impl<'ast> Visit<'ast> for Collector {
    fn visit_item_fn(&mut self, item: &'ast ItemFn) {
        self.note(&item.attrs, &item.sig, Some(&item.block), &Place::Free);
        syn::visit::visit_item_fn(self, item);
    }

    fn visit_item_impl(&mut self, item: &'ast ItemImpl) {
        // An attribute on the block itself hands its functions their
        // context; only the method-level attribute alone needs this file.
        if !item.attrs.iter().any(|attr| self.is_attribute(attr)) {
            let place = match item.trait_ {
                Some(_) => Place::TraitImpl,
                None => {
                    let mut params: Vec<String> = item
                        .generics
                        .params
                        .iter()
                        .map(|param| match param {
                            syn::GenericParam::Lifetime(param) => param.lifetime.to_string(),
                            syn::GenericParam::Type(param) => param.ident.to_string(),
                            syn::GenericParam::Const(param) => param.ident.to_string(),
                        })
                        .collect();
                    // `impl View<'_>` borrows without naming a parameter.
                    if params.is_empty() && crate::types::borrows(&item.self_ty) {
                        params.push("'_".to_owned());
                    }
                    Place::InherentImpl(params.into())
                }
            };
            for impl_item in &item.items {
                if let ImplItem::Fn(function) = impl_item {
                    self.note(
                        &function.attrs,
                        &function.sig,
                        Some(&function.block),
                        &place,
                    );
                }
            }
        }
        syn::visit::visit_item_impl(self, item);
    }

    fn visit_trait_item_fn(&mut self, item: &'ast TraitItemFn) {
        self.note(&item.attrs, &item.sig, item.default.as_ref(), &Place::Trait);
        syn::visit::visit_trait_item_fn(self, item);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn places(source: &str) -> Vec<(String, Place)> {
        let file = syn::parse_file(source).expect("test source parses");
        let mut collector = Collector::for_file(&file);
        collector.visit_file(&file);
        collector
            .places
            .into_iter()
            .map(|found| (found.name, found.place))
            .collect()
    }

    #[test]
    fn every_kind_of_item_list_is_told_apart() {
        let found = places(
            "#[isolated] fn free() {}
             impl Scale { #[isolated] fn make(n: u64) -> u64 { n } fn plain() {} }
             impl<'a, T, const N: usize> Wrap<'a, T, N> { #[isolated] fn label() {} }
             impl Clone for Scale { #[isolated] fn clone(&self) -> Self { *self } }
             trait Shape { #[isolated] fn area() -> u64 { 0 } }
             fn outer() { impl Inner { #[isolated] fn nested() {} } }
             impl View<'_> { #[isolated] fn elided() {} }
             #[isolated] impl Seen { #[isolated] fn seen() {} }",
        );
        assert_eq!(
            found,
            vec![
                ("free".to_owned(), Place::Free),
                ("make".to_owned(), Place::InherentImpl(Rc::from([]))),
                (
                    "label".to_owned(),
                    Place::InherentImpl(Rc::from([
                        "'a".to_owned(),
                        "T".to_owned(),
                        "N".to_owned()
                    ]))
                ),
                ("clone".to_owned(), Place::TraitImpl),
                ("area".to_owned(), Place::Trait),
                ("nested".to_owned(), Place::InherentImpl(Rc::from([]))),
                (
                    "elided".to_owned(),
                    Place::InherentImpl(Rc::from(["'_".to_owned()]))
                ),
            ]
        );
    }

    #[test]
    fn the_attribute_is_found_under_a_name_a_use_gives_it() {
        let found = places(
            "use isolate::isolated as offload;
             #[offload] fn make() -> Parser { Parser(1) }
             impl Parser { #[offload] fn make() -> Parser { Parser(2) } }",
        );
        assert_eq!(
            found,
            vec![
                ("make".to_owned(), Place::Free),
                ("make".to_owned(), Place::InherentImpl(Rc::from([]))),
            ]
        );
    }

    #[test]
    fn outside_a_procedural_macro_nothing_is_claimed() {
        let function: ItemFn = syn::parse_quote!(
            fn make() {}
        );
        assert_eq!(place_of(&function.sig, Some(&function.block)), None);
    }
}
